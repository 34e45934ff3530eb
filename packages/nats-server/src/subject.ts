/**
 * Subject validation, following the NATS subject rules: tokens separated by `.`, no empty token, no
 * whitespace; `*` matches one token and `>` the remaining tokens (only as the last token).
 */

const DOT = 46;

function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) return true;
  }
  return false;
}

/** True for a valid subscription subject (wildcards allowed, `>` only as the last token). */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0 || hasWhitespace(subject)) return false;
  let start = 0;
  const n = subject.length;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      const len = i - start;
      if (len === 0) return false;
      if (len === 1 && subject.charCodeAt(start) === 62 /* > */ && i !== n) return false;
      start = i + 1;
    }
  }
  return true;
}

/** True for a valid publish subject: a valid subject without wildcard tokens. */
export function isValidLiteralSubject(subject: string): boolean {
  if (!isValidSubject(subject)) return false;
  return !hasWildcardToken(subject);
}

/** True when one of the subject's tokens is exactly `*` or `>`. */
export function hasWildcardToken(subject: string): boolean {
  const n = subject.length;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      if (i - start === 1) {
        const c = subject.charCodeAt(start);
        if (c === 42 || c === 62) return true;
      }
      start = i + 1;
    }
  }
  return false;
}

/** True for a valid queue group name (non-empty, no whitespace). */
export function isValidQueueName(queue: string): boolean {
  return queue.length > 0 && !hasWhitespace(queue);
}

/**
 * True when the literal `subject` is matched by the subscription `pattern` (which may hold wildcards).
 * Used to invalidate the sublist cache and as a naive oracle in tests.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}
