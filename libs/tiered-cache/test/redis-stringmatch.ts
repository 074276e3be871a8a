/** Test reference for Redis glob matching (moved from keys/glob.spec.ts). */

/** The UTF-8 bytes of a string, one latin1 character per byte, for {@link redisMatch}. */
export function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * Reference: a line-by-line port of Redis's `stringmatchlen_impl()` (src/util.c, case-sensitive),
 * over UTF-16 code units, which equal Redis's bytes for the ASCII strings used with it below.
 * Reads past the end of the pattern see 0, like the NUL that terminates an sds string.
 * To compare bytes, give it the UTF-8 bytes of both as latin1 strings ({@link utf8Bytes}). (Redis
 * compares range ends as signed chars; this port as unsigned: they differ only for ranges with a
 * non-ASCII end, which `scanPattern` never sends.)
 */
export function redisMatch(pattern: string, string: string): boolean {
  const state = { skipLongerMatches: false };
  return redisMatchImpl(pattern, 0, string, 0, state, 0);
}

function redisMatchImpl(
  p: string,
  pi: number,
  s: string,
  si: number,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  let pl = p.length - pi;
  let sl = s.length - si;
  const P = (k: number): number => (pi + k < p.length ? p.charCodeAt(pi + k) : 0);
  const S = (k: number): number => (si + k < s.length ? s.charCodeAt(si + k) : 0);
  const STAR = 42,
    QUESTION = 63,
    OPEN = 91,
    CLOSE = 93,
    CARET = 94,
    BACKSLASH = 92,
    DASH = 45;
  while (pl > 0 && sl > 0) {
    switch (P(0)) {
      case STAR:
        while (pl > 0 && P(1) === STAR) {
          pi++;
          pl--;
        }
        if (pl === 1) return true;
        while (sl > 0) {
          if (redisMatchImpl(p, pi + 1, s, si, state, nesting + 1)) return true;
          if (state.skipLongerMatches) return false;
          si++;
          sl--;
        }
        state.skipLongerMatches = true;
        return false;
      case QUESTION:
        si++;
        sl--;
        break;
      case OPEN: {
        pi++;
        pl--;
        const not = P(0) === CARET;
        if (not) {
          pi++;
          pl--;
        }
        let match = false;
        for (;;) {
          if (P(0) === BACKSLASH && pl >= 2) {
            pi++;
            pl--;
            if (P(0) === S(0)) match = true;
          } else if (P(0) === CLOSE) {
            break;
          } else if (pl === 0) {
            pi--;
            pl++;
            break;
          } else if (pl >= 3 && P(1) === DASH) {
            let start = P(0);
            let end = P(2);
            if (start > end) [start, end] = [end, start];
            pi += 2;
            pl -= 2;
            if (S(0) >= start && S(0) <= end) match = true;
          } else if (P(0) === S(0)) {
            match = true;
          }
          pi++;
          pl--;
        }
        if (not) match = !match;
        if (!match) return false;
        si++;
        sl--;
        break;
      }
      default: {
        if (P(0) === BACKSLASH && pl >= 2) {
          pi++;
          pl--;
        }
        if (P(0) !== S(0)) return false;
        si++;
        sl--;
        break;
      }
    }
    pi++;
    pl--;
    if (sl === 0) {
      while (P(0) === STAR) {
        pi++;
        pl--;
      }
      break;
    }
  }
  return pl === 0 && sl === 0;
}
