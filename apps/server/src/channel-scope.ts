import { compileChannelPattern } from '@metered/protocol';

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

type Token =
  { readonly kind: 'char'; readonly char: string } | { readonly kind: 'star' | 'globstar' };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        tokens.push({ kind: 'globstar' });
        index++;
      } else tokens.push({ kind: 'star' });
    } else tokens.push({ kind: 'char', char });
  }
  return tokens;
}

/**
 * A sound (conservative) test of `inner ⊆ outer` for channel patterns: true only when each piece
 * of `inner` can be absorbed by a piece of `outer` (`**` absorbs anything, `*` absorbs characters
 * other than `/` and `*` runs, a character matches itself).
 */
export function patternIncludes(outer: string, inner: string): boolean {
  const outerTokens = tokenize(outer);
  const innerTokens = tokenize(inner);
  const width = innerTokens.length + 1;
  const memo = new Map<number, boolean>();

  const includes = (innerIndex: number, outerIndex: number): boolean => {
    const key = outerIndex * width + innerIndex;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result = false;
    const token = outerTokens[outerIndex];
    if (token === undefined) result = innerIndex === innerTokens.length;
    else if (token.kind === 'char') {
      const innerToken = innerTokens[innerIndex];
      result =
        innerToken?.kind === 'char' &&
        innerToken.char === token.char &&
        includes(innerIndex + 1, outerIndex + 1);
    } else if (token.kind === 'star') {
      for (let next = innerIndex; next <= innerTokens.length; next++) {
        if (includes(next, outerIndex + 1)) {
          result = true;
          break;
        }
        const absorbed = innerTokens[next];
        if (
          absorbed === undefined ||
          absorbed.kind === 'globstar' ||
          (absorbed.kind === 'char' && absorbed.char === '/')
        ) {
          break;
        }
      }
    } else {
      for (let next = innerIndex; next <= innerTokens.length; next++) {
        if (includes(next, outerIndex + 1)) {
          result = true;
          break;
        }
      }
    }
    memo.set(key, result);
    return result;
  };

  return includes(0, 0);
}
