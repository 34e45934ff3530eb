/** Small helpers shared by the broker modules. @module */

const NS_BASE = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Current time in Unix nanoseconds (monotonic within the process). */
export function nowNs(): bigint {
  return NS_BASE + process.hrtime.bigint();
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random 22-character base-62 id (NUID-like), for server ids and inboxes. */
export function newId(length = 22): string {
  let s = "";
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return s;
}

const SAFE = /^[A-Za-z0-9_-]$/;

/**
 * The directory name of a stream: bytes outside `[A-Za-z0-9_-]` are escaped as `%XX`, so any stream
 * name (dots, slashes, `..`, unicode) maps to one safe, distinct directory.
 */
export function streamDirName(name: string): string {
  let out = "";
  for (const ch of name) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Whether `subject` is a valid stream subject (spec §5 CreateStream): non-empty, no whitespace, no
 * empty `.`-separated token. Wildcards are allowed.
 */
export function isValidStreamSubject(subject: string): boolean {
  if (subject === "" || /\s/u.test(subject)) return false;
  for (const token of subject.split(".")) if (token === "") return false;
  return true;
}

/** The NATS subject of partition `id` of a stream on `subject` (spec §0.10). */
export function partitionSubject(subject: string, id: number): string {
  return id === 0 ? subject : `${subject}.${id}`;
}
