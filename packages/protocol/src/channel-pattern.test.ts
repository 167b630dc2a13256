import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileChannelPattern, compileCountingMatcher } from './channel-pattern.js';

/** The regular-expression matcher the linear one replaced: the reference for equivalence. */
function regexChannelPattern(pattern: string): (channel: string) => boolean {
  if (!pattern.includes('*')) return (channel) => channel === pattern;
  let source = '^';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === '*') {
      if (pattern[index + 1] === '*') {
        source += '[\\s\\S]*';
        index++;
      } else source += '[^/]*';
    } else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`${source}$`, 'u');
  return (channel) => regex.test(channel);
}

// Few distinct characters, so that patterns and channels overlap often; a surrogate pair and
// both of its halves alone, so that code points and code units are told apart.
const pieces = ['a', 'b', '/', '*', '**', '.', '\\', 'é', '😀', '\uD83D', '\uDE00', '\n'];
const text = (maxLength: number) =>
  fc.array(fc.constantFrom(...pieces), { maxLength }).map((parts) => parts.join(''));

describe('compileChannelPattern matches as the regular expression did', () => {
  it('on random patterns and channels', () => {
    fc.assert(
      fc.property(
        text(10),
        fc.array(text(14), { minLength: 1, maxLength: 8 }),
        (pattern, channels) => {
          const linear = compileChannelPattern(pattern);
          const reference = regexChannelPattern(pattern);
          for (const channel of channels) expect(linear(channel)).toBe(reference(channel));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('on channels built to match, then altered by one piece', () => {
    const matching = fc
      .array(fc.oneof(fc.constantFrom('a', 'b', '/', '😀'), fc.constantFrom('*', '**')), {
        maxLength: 10,
      })
      .chain((parts) =>
        fc
          .tuple(
            ...parts.map((part) =>
              part === '**' ? text(4) : part === '*' ? text(3) : fc.constant(part),
            ),
          )
          .map((fills) => ({ pattern: parts.join(''), channel: fills.join('') })),
      );
    fc.assert(
      fc.property(
        matching,
        fc.nat(),
        fc.constantFrom(...pieces),
        ({ pattern, channel }, at, piece) => {
          const cut = channel.length === 0 ? 0 : at % channel.length;
          const altered = channel.slice(0, cut) + piece + channel.slice(cut + 1);
          const linear = compileChannelPattern(pattern);
          const reference = regexChannelPattern(pattern);
          expect(linear(channel)).toBe(reference(channel));
          expect(linear(altered)).toBe(reference(altered));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});

describe('compileChannelPattern on patterns that make a backtracking matcher exponential', () => {
  const stars = (count: number, tail: string) => `${'*a'.repeat(count)}*${tail}`;

  it('answers a pattern of eleven stars against forty characters', () => {
    const matches = compileChannelPattern(stars(11, 'b'));
    expect(matches('a'.repeat(40))).toBe(false);
    expect(matches(`${'a'.repeat(40)}b`)).toBe(true);
    const open = compileChannelPattern(stars(11, 'b*'));
    expect(open('a'.repeat(40))).toBe(false);
    expect(open(`${'a'.repeat(40)}ba`)).toBe(true);
  });

  // Wildcards at both ends, so that no literal prefix or suffix settles the answer early.
  it.each([
    [stars(11, 'b*'), 'a'.repeat(40)],
    [stars(60, 'b*'), 'a'.repeat(256)],
    [`${'**a'.repeat(40)}**b**`, 'a'.repeat(256)],
    [`${'*/'.repeat(30)}x*`, '/'.repeat(200)],
  ])('takes at most (channel + 1) × (pattern + 1) steps: %s', (pattern, channel) => {
    const counter = { steps: 0 };
    expect(compileCountingMatcher(pattern, counter)(channel)).toBe(false);
    expect(counter.steps).toBeGreaterThan(0);
    expect(counter.steps).toBeLessThanOrEqual((channel.length + 1) * (pattern.length + 1));
  });
});
