// Small string helpers that reproduce Python's str semantics where the reference relies on them:
// str.strip() / str.split() whitespace (which differs from JS \s), and the "upper-case the first
// letter if it is lower-case" rule applied to SQuAD and ArchivalQA answers.

/**
 * Python's str.isspace() set: \t \n \v \f \r, the separators \x1c-\x1f, space, \x85, \xa0, \u1680,
 * \u2000-\u200a, \u2028, \u2029, \u202f, \u205f, \u3000. JS \s lacks \x1c-\x1f and \x85 and adds \ufeff.
 */
export const PY_WHITESPACE_CLASS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const LEADING_WS = new RegExp(`^[${PY_WHITESPACE_CLASS}]+`);
const TRAILING_WS = new RegExp(`[${PY_WHITESPACE_CLASS}]+$`);
const WS_RUN = new RegExp(`[${PY_WHITESPACE_CLASS}]+`);

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(LEADING_WS, '').replace(TRAILING_WS, '');
}

/** Python `s.split()` (no argument): split on whitespace runs, drop empty pieces. */
export function pySplit(s: string): string[] {
  return s.split(WS_RUN).filter((w) => w.length > 0);
}

/**
 * Python `a[0].upper() + a[1:] if a[0].islower() else a`, on code points. Python's islower() for one
 * character is the Unicode Lowercase property.
 */
export function upperFirstIfLower(a: string): string {
  const first = a.codePointAt(0);
  if (first === undefined) return a;
  const ch = String.fromCodePoint(first);
  if (!/^\p{Lowercase}$/u.test(ch)) return a;
  return ch.toUpperCase() + a.slice(ch.length);
}

/** Python `min(items, key=len)`: the first of the shortest (length in code points). */
export function shortest(items: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestLen = Infinity;
  for (const s of items) {
    let len = 0;
    for (const _ of s) len++;
    if (len < bestLen) {
      best = s;
      bestLen = len;
    }
  }
  return best;
}
