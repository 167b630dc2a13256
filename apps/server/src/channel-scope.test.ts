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
