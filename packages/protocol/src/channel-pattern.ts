// Channel patterns: `*` matches any run of characters except `/`, `**` matches anything, every
// other character matches itself (compared by code point, case-sensitive).
//
// Matching runs the pattern as a set of positions over the channel, one code point at a time: no
// regular expression and no backtracking, so any pattern costs at most
// (channel code points + 1) × (pattern tokens + 1) steps. A backtracking matcher spends time
// exponential in the number of stars on a pattern like `*a*a*a*a*a*a*a*a*a*a*a*b`.

/** The token of `*` in {@link tokenizeChannelPattern}'s output. */
export const PATTERN_STAR = -1;
/** The token of `**` in {@link tokenizeChannelPattern}'s output. */
export const PATTERN_GLOBSTAR = -2;
const STAR = PATTERN_STAR;
const GLOBSTAR = PATTERN_GLOBSTAR;
const SLASH = 0x2f;
const ASTERISK = 0x2a;

/** Counts the steps of a match, for tests that pin down the cost bound. */
export interface PatternStepCounter {
  steps: number;
}

/**
 * Splits a channel pattern into tokens: each code point (≥ 0), {@link PATTERN_STAR} for `*`,
 * {@link PATTERN_GLOBSTAR} for `**`.
 */
export function tokenizeChannelPattern(pattern: string): Int32Array {
  const tokens: number[] = [];
  for (let index = 0; index < pattern.length;) {
    const codePoint = pattern.codePointAt(index) as number;
    index += codePoint > 0xffff ? 2 : 1;
    if (codePoint === ASTERISK) {
      if (pattern.charCodeAt(index) === ASTERISK) {
        tokens.push(GLOBSTAR);
        index++;
      } else tokens.push(STAR);
    } else tokens.push(codePoint);
  }
  return Int32Array.from(tokens);
}

/** Adds to `states` every position reachable by letting wildcards match nothing. */
function closeOverWildcards(tokens: Int32Array, states: Uint8Array): void {
  for (let position = 0; position < tokens.length; position++) {
    if (states[position] === 1 && (tokens[position] as number) < 0) states[position + 1] = 1;
  }
}

/**
 * Compiles a channel pattern into a matcher: `*` matches any run of characters except `/`,
 * `**` matches anything, every other character matches itself. A match takes time linear in
 * the channel's length times the pattern's, whatever the pattern.
 */
export function compileChannelPattern(pattern: string): (channel: string) => boolean {
  return compileCountingMatcher(pattern);
}

/**
 * {@link compileChannelPattern}, counting one step per (channel code point, pattern position)
 * pair visited when `counter` is given.
 */
export function compileCountingMatcher(
  pattern: string,
  counter?: PatternStepCounter,
): (channel: string) => boolean {
  const first = pattern.indexOf('*');
  if (first === -1) return (channel) => channel === pattern;
  const last = pattern.lastIndexOf('*');
  const prefix = pattern.slice(0, first);
  const suffix = pattern.slice(last + 1);
  // The literal text before the first wildcard and after the last one is compared as text; a
  // surrogate there could stand for half of a character of the channel, so such patterns run
  // whole through the automaton.
  if (SURROGATE.test(prefix) || SURROGATE.test(suffix)) {
    const whole = automaton(tokenizeChannelPattern(pattern), counter);
    return (channel) => whole(channel, 0, channel.length);
  }
  const middle = pattern.slice(first, last + 1);
  const matchesMiddle: RangeMatcher =
    middle === '**'
      ? () => true
      : middle === '*'
        ? (channel, start, end) => {
            const slash = channel.indexOf('/', start);
            return slash === -1 || slash >= end;
          }
        : automaton(tokenizeChannelPattern(middle), counter);
  const ends = prefix.length + suffix.length;
  return (channel) =>
    channel.length >= ends &&
    channel.startsWith(prefix) &&
    channel.endsWith(suffix) &&
    matchesMiddle(channel, prefix.length, channel.length - suffix.length);
}

/** Matches `channel` from code unit `start` to `end`. */
type RangeMatcher = (channel: string, start: number, end: number) => boolean;

const SURROGATE = /[\uD800-\uDFFF]/;

/** The set of positions as an array of flags, one per pattern position. */
function automaton(tokens: Int32Array, counter: PatternStepCounter | undefined): RangeMatcher {
  const width = tokens.length + 1;
  // Reused across calls: a match runs to completion before the next one starts.
  let current = new Uint8Array(width);
  let next = new Uint8Array(width);
  return (channel, start, end) => {
    for (let position = 0; position < width; position++) current[position] = 0;
    current[0] = 1;
    closeOverWildcards(tokens, current);
    for (let index = start; index < end;) {
      const codePoint = channel.codePointAt(index) as number;
      index += codePoint > 0xffff ? 2 : 1;
      for (let position = 0; position < width; position++) next[position] = 0;
      let alive = false;
      for (let position = 0; position < tokens.length; position++) {
        if (counter) counter.steps++;
        if (current[position] !== 1) continue;
        const token = tokens[position] as number;
        if (token === GLOBSTAR || (token === STAR && codePoint !== SLASH)) {
          next[position] = 1;
          alive = true;
        } else if (token === codePoint) {
          next[position + 1] = 1;
          alive = true;
        }
      }
      if (!alive) return false;
      closeOverWildcards(tokens, next);
      const previous = current;
      current = next;
      next = previous;
    }
    return current[tokens.length] === 1;
  };
}
