import { describe, expect, it } from 'vitest';
import { compileChannelPattern } from './channel-pattern.js';
import { createRequestId } from './request-id.js';
import { parseIceServers } from './ice-servers.js';
import {
  isReservedChannel,
  isValidPeerId,
  payloadSize,
  utf8ByteLength,
  validateChannelName,
} from './validation.js';

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['\ud800', 3],
    ['a\udc00b', 5],
  ])('%j is %i bytes', (text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
    if (!/[\ud800-\udfff]/.test(text.replace(/\ud83d\ude00/g, ''))) {
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
  });
});

describe('payloadSize', () => {
  it('counts the serialised data only', () => {
    expect(payloadSize({ a: 'é' })).toBe(new TextEncoder().encode('{"a":"é"}').byteLength);
    expect(payloadSize(null)).toBe(4);
  });

  it('rejects undefined and values JSON cannot carry', () => {
    expect(() => payloadSize(undefined)).toThrow(TypeError);
    expect(() => payloadSize(() => 1)).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => payloadSize(cycle)).toThrow(TypeError);
    expect(() => payloadSize(10n)).toThrow(TypeError);
  });
});

describe('channel names and peer ids', () => {
  it('knows the reserved prefixes in any case', () => {
    expect(isReservedChannel('_METERED/a')).toBe(true);
    expect(isReservedChannel('_internal/')).toBe(true);
    expect(isReservedChannel('_systemx/')).toBe(false);
    expect(isReservedChannel('metered/')).toBe(false);
    expect(validateChannelName('_Metered/x')).toBe('channel_reserved');
  });

  it('measures channel names in UTF-8 bytes', () => {
    expect(validateChannelName('€'.repeat(85))).toBeNull();
    expect(validateChannelName('€'.repeat(86))).toBe('invalid_channel');
  });

  it('accepts printable ASCII peer ids of 1-128 characters', () => {
    expect(isValidPeerId('user-1@example.com')).toBe(true);
    expect(isValidPeerId(' ')).toBe(true);
    expect(isValidPeerId('')).toBe(false);
    expect(isValidPeerId('x'.repeat(129))).toBe(false);
    expect(isValidPeerId('tab\t')).toBe(false);
    expect(isValidPeerId(null)).toBe(false);
  });
});

describe('createRequestId', () => {
  it('returns fresh ids within the 128-character cap', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => createRequestId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(128);
  });

  it('falls back to Math.random without crypto.randomUUID', () => {
    const original = globalThis.crypto;
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      const id = createRequestId();
      expect(id).toMatch(/^[0-9a-z]{22}$/);
    } finally {
      Object.defineProperty(globalThis, 'crypto', { value: original, configurable: true });
    }
  });
});

describe('parseIceServers (fail-closed)', () => {
  it('keeps urls, username and credential only', () => {
    expect(
      parseIceServers([
        { urls: 'stun:s.example:3478', extra: 1 },
        { urls: ['turn:t.example:3478', 'TURNS:t.example:5349'], username: 'u', credential: 'c' },
        { urls: 'stuns:s.example', username: 5 },
      ]),
    ).toEqual([
      { urls: 'stun:s.example:3478' },
      { urls: ['turn:t.example:3478', 'TURNS:t.example:5349'], username: 'u', credential: 'c' },
      { urls: 'stuns:s.example' },
    ]);
  });

  it.each([
    ['not an array', { urls: 'stun:x' }],
    ['an http url', [{ urls: 'http://x' }]],
    ['an empty urls array', [{ urls: [] }]],
    ['one bad url among good ones', [{ urls: ['stun:x', 'ftp:y'] }]],
    ['a url over 512 characters', [{ urls: `turn:${'x'.repeat(508)}` }]],
    ['a credential over 1024 characters', [{ urls: 'turn:x', credential: 'c'.repeat(1025) }]],
    ['seventeen entries', Array.from({ length: 17 }, () => ({ urls: 'stun:x' }))],
    ['a null entry', [null]],
    ['an array entry', [['stun:x']]],
  ])('rejects the whole list for %s', (_name, value) => {
    expect(parseIceServers(value)).toBeNull();
  });

  it('accepts sixteen entries and a 512-character url', () => {
    expect(parseIceServers(Array.from({ length: 16 }, () => ({ urls: 'stun:x' })))).toHaveLength(
      16,
    );
    expect(parseIceServers([{ urls: `turn:${'x'.repeat(507)}` }])).toHaveLength(1);
  });
});

describe('compileChannelPattern', () => {
  it.each([
    ['room-1', 'room-1', true],
    ['room-1', 'room-12', false],
    ['rooms/*', 'rooms/a', true],
    ['rooms/*', 'rooms/a/b', false],
    ['rooms/*', 'rooms/', true],
    ['rooms/**', 'rooms/a/b', true],
    ['**', 'anything/at/all', true],
    ['*', 'a/b', false],
    ['a.b', 'axb', false],
    ['user-*-inbox', 'user-42-inbox', true],
    ['ROOMS/*', 'rooms/a', false],
    ['(x)+', '(x)+', true],
  ])('%s matches %s: %s', (pattern, channel, matches) => {
    expect(compileChannelPattern(pattern)(channel)).toBe(matches);
  });
});
