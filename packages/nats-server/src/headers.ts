/**
 * NATS message headers (`NATS/1.0[ code[ description]]\r\nKey: value\r\n...\r\n\r\n`), as carried by
 * HPUB/HMSG. Used by the in-process connection; socket traffic forwards the raw header bytes untouched.
 */

/** Message headers with an optional status line (e.g. 503 "No Responders"). */
export interface MsgHeaders {
  /** Status code from the first line, 0 when absent. */
  readonly code: number;
  /** Status description from the first line, "" when absent. */
  readonly description: string;
  /** First value of `key` (exact match first, then case-insensitive), or undefined. */
  get(key: string): string | undefined;
  /** All values of `key` (exact match). */
  values(key: string): string[];
  has(key: string): boolean;
  /** Replaces every value of `key`. Keys and values must not contain CR, LF (or `:` in keys). */
  set(key: string, value: string): void;
  append(key: string, value: string): void;
  delete(key: string): void;
  keys(): string[];
  /** The wire form, `NATS/1.0...\r\n\r\n`. */
  encode(): Buffer;
}

const VERSION_LINE = "NATS/1.0";

class Headers implements MsgHeaders {
  code: number;
  description: string;
  private readonly map = new Map<string, string[]>();

  constructor(code = 0, description = "") {
    this.code = code;
    this.description = description;
  }

  get(key: string): string | undefined {
    const v = this.map.get(key);
    if (v !== undefined) return v[0];
    const lk = key.toLowerCase();
    for (const [k, vs] of this.map) if (k.toLowerCase() === lk) return vs[0];
    return undefined;
  }
  values(key: string): string[] {
    return [...(this.map.get(key) ?? [])];
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  set(key: string, value: string): void {
    check(key, value);
    this.map.set(key, [value]);
  }
  append(key: string, value: string): void {
    check(key, value);
    const v = this.map.get(key);
    if (v === undefined) this.map.set(key, [value]);
    else v.push(value);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  encode(): Buffer {
    let s = VERSION_LINE;
    if (this.code > 0) s += ` ${this.code}${this.description ? ` ${this.description}` : ""}`;
    s += "\r\n";
    for (const [k, vs] of this.map) for (const v of vs) s += `${k}: ${v}\r\n`;
    return Buffer.from(`${s}\r\n`, "utf8");
  }
}

function check(key: string, value: string): void {
  if (key.length === 0 || /[\r\n:\s]/.test(key) || /[\r\n]/.test(value)) {
    throw new TypeError(`invalid header ${JSON.stringify(key)}`);
  }
}

/** Creates empty headers, optionally with a status code and description. */
export function createHeaders(code = 0, description = ""): MsgHeaders {
  return new Headers(code, description);
}

/**
 * Parses a header block. Lenient like the NATS clients: lines without `:` are skipped; returns
 * undefined when the block does not start with `NATS/`.
 */
export function decodeHeaders(raw: Uint8Array): MsgHeaders | undefined {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
  const lines = text.split("\r\n");
  const first = lines[0] ?? "";
  if (!first.startsWith("NATS/")) return undefined;
  const status = first.slice(first.indexOf(" ") === -1 ? first.length : first.indexOf(" ") + 1).trim();
  let code = 0;
  let description = "";
  if (status.length > 0) {
    const sp = status.indexOf(" ");
    code = Number.parseInt(sp === -1 ? status : status.slice(0, sp), 10) || 0;
    description = sp === -1 ? "" : status.slice(sp + 1).trim();
  }
  const h = new Headers(code, description);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const k = line.slice(0, c).trim();
    if (k.length === 0) continue;
    const v = line.slice(c + 1).trim();
    const arr = (h as unknown as { map: Map<string, string[]> }).map;
    const cur = arr.get(k);
    if (cur === undefined) arr.set(k, [v]);
    else cur.push(v);
  }
  return h;
}
