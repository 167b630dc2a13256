import {
  compileChannelPattern,
  PATTERN_GLOBSTAR,
  PATTERN_STAR,
  tokenizeChannelPattern,
} from '@metered/protocol';

/** The channels a connection or a key may use: a list of names or patterns. */
export class ChannelScope {
  readonly patterns: readonly string[];
  private readonly matchers: readonly ((channel: string) => boolean)[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.matchers = patterns.map((pattern) => compileChannelPattern(pattern));
  }

  /** True when no channel at all is in scope. */
  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  allows(channel: string): boolean {
    return this.matchers.some((matches) => matches(channel));
  }

  /** True when every channel `pattern` can match is also matched by one of this scope's patterns. */
  covers(pattern: string): boolean {
    return this.patterns.some((own) => patternIncludes(own, pattern));
  }
}

const SLASH = 0x2f;
const STAR = PATTERN_STAR;
const GLOBSTAR = PATTERN_GLOBSTAR;

/**
 * A sound (conservative) test of `inner ⊆ outer` for channel patterns: true only when each piece
 * of `inner` can be absorbed by a piece of `outer` (`**` absorbs anything, `*` absorbs characters
 * other than `/` and `*` runs, a character matches itself).
 *
 * Dynamic programming over (outer position, inner position), two rows at a time: at most
 * (outer + 1) × (inner + 1) steps, no recursion, whatever the patterns.
 */
export function patternIncludes(outer: string, inner: string): boolean {
  const outerTokens = tokenizeChannelPattern(outer);
  const innerTokens = tokenizeChannelPattern(inner);
  const innerLength = innerTokens.length;
  // below[i]: inner[i..] ⊆ outer[o + 1..]; row[i]: inner[i..] ⊆ outer[o..].
  let below = new Uint8Array(innerLength + 1);
  let row = new Uint8Array(innerLength + 1);
  below[innerLength] = 1;
  for (let outerIndex = outerTokens.length - 1; outerIndex >= 0; outerIndex--) {
    const token = outerTokens[outerIndex] as number;
    row.fill(0);
    for (let innerIndex = innerLength; innerIndex >= 0; innerIndex--) {
      const innerToken = innerIndex < innerLength ? (innerTokens[innerIndex] as number) : undefined;
      let included: boolean;
      if (token >= 0) included = innerToken === token && below[innerIndex + 1] === 1;
      else if (below[innerIndex] === 1) included = true;
      else if (innerToken === undefined) included = false;
      else if (token === GLOBSTAR) included = row[innerIndex + 1] === 1;
      else {
        const absorbable = innerToken === STAR || (innerToken >= 0 && innerToken !== SLASH);
        included = absorbable && row[innerIndex + 1] === 1;
      }
      row[innerIndex] = included ? 1 : 0;
    }
    const previous = below;
    below = row;
    row = previous;
  }
  return below[0] === 1;
}
