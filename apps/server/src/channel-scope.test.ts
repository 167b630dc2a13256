import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelScope, patternIncludes } from './channel-scope.js';

describe('ChannelScope', () => {
  it('matches names and patterns (* stops at /, ** does not)', () => {
    const scope = new ChannelScope(['app_abc/*', 'tasks/**', 'lobby']);
    expect(scope.allows('app_abc/room-1')).toBe(true);
    expect(scope.allows('app_abc/sub/deep')).toBe(false);
    expect(scope.allows('tasks/a/b/c')).toBe(true);
    expect(scope.allows('lobby')).toBe(true);
    expect(scope.allows('lobby2')).toBe(false);
    expect(new ChannelScope([]).isEmpty).toBe(true);
  });
});

describe('patternIncludes (inner ⊆ outer)', () => {
  it.each([
    ['**', 'anything/at/all', true],
    ['**', 'rooms/*', true],
    ['rooms/*', 'rooms/a', true],
    ['rooms/*', 'rooms/a-*', true],
    ['rooms/*', 'rooms/*', true],
    ['rooms/*', 'rooms/**', false],
    ['rooms/*', 'rooms/a/b', false],
    ['rooms/*', 'other', false],
    ['rooms/**', 'rooms/*/chat', true],
    ['rooms/*/chat', 'rooms/**', false],
    ['a*', 'a/b', false],
    ['lobby', 'lobby', true],
    ['lobby', 'lobby*', false],
  ])('%s includes %s: %s', (outer, inner, expected) => {
    expect(patternIncludes(outer, inner)).toBe(expected);
  });
});

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

/** The memoised recursive test the dynamic programme replaced: the reference for equivalence. */
function recursivePatternIncludes(outer: string, inner: string): boolean {
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

describe('patternIncludes answers as the recursive test did', () => {
  const pattern = fc
    .array(fc.constantFrom('a', 'b', '/', '*', '**', '😀'), { maxLength: 9 })
    .map((parts) => parts.join(''));

  it('on random pairs of patterns', () => {
    fc.assert(
      fc.property(pattern, pattern, (outer, inner) => {
        expect(patternIncludes(outer, inner)).toBe(recursivePatternIncludes(outer, inner));
      }),
      { numRuns: 20_000 },
    );
  });

  it('on a pattern of a hand-signed token as long as a URL allows', () => {
    // The recursive test took time quadratic in the inner pattern's length (tens of seconds here).
    const outer = `${'*a'.repeat(10)}*`;
    expect(patternIncludes(outer, `${'a'.repeat(16_000)}/`)).toBe(false);
    expect(patternIncludes(outer, 'a'.repeat(16_000))).toBe(true);
  });
});
