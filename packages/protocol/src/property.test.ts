// Random JSON and random text thrown at both parsers: they never throw, and whatever they accept
// satisfies the frame rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@metered/errors';
import { parseClientFrame } from './parse-client-frame.js';
import { parseServerFrame } from './parse-server-frame.js';
import { isValidPeerId, isValidRequestId, validateChannelName } from './validation.js';

const RUNS = 2_000;

const clientTypes = [
  'subscribe',
  'unsubscribe',
  'publish',
  'send',
  'ping',
  'session',
  'refresh',
  'auth',
];
const serverTypes = [
  'welcome',
  'ack',
  'error',
  'message',
  'direct',
  'presence',
  'going_away',
  'pong',
  'unsubscribed',
  'x',
];

/** Objects shaped like frames, with fields of random type: the interesting part of the input space. */
function frameLike(types: string[], keys: string[]) {
  return fc
    .dictionary(fc.constantFrom(...keys), fc.jsonValue(), { maxKeys: keys.length })
    .chain((fields) => fc.constantFrom(...types).map((type) => ({ ...fields, type })));
}

function checkClient(text: string): void {
  const result = parseClientFrame(text);
  if (!result.ok) {
    if (result.rejection.action === 'error') expect(ERROR_CODES).toContain(result.rejection.code);
    else expect(result.rejection.closeCode).toBe(1008);
    return;
  }
  const frame = result.frame;
  if ('requestId' in frame) expect(isValidRequestId(frame.requestId)).toBe(true);
  switch (frame.type) {
    case 'ping':
    case 'session':
      break;
    case 'refresh':
      expect(typeof frame.token).toBe('string');
      expect(frame.token.length).toBeGreaterThan(0);
      break;
    case 'send':
      expect(isValidPeerId(frame.to)).toBe(true);
      expect('data' in frame).toBe(true);
      if (frame.idempotencyKey !== undefined)
        expect(isValidRequestId(frame.idempotencyKey)).toBe(true);
      break;
    case 'publish':
      expect('data' in frame).toBe(true);
      expect(validateChannelName(frame.channel)).toBeNull();
      if (frame.idempotencyKey !== undefined)
        expect(isValidRequestId(frame.idempotencyKey)).toBe(true);
      break;
    case 'subscribe':
      expect(validateChannelName(frame.channel)).toBeNull();
      if (frame.since !== undefined) {
        expect(Number.isSafeInteger(frame.since.offset) && frame.since.offset >= 0).toBe(true);
        expect(typeof frame.since.epoch).toBe('string');
      }
      break;
    case 'unsubscribe':
      expect(validateChannelName(frame.channel)).toBeNull();
      break;
  }
}

function checkServer(text: string): void {
  const result = parseServerFrame(text);
  if (!result.ok) return;
  const frame = result.frame;
  switch (frame.type) {
    case 'welcome':
      expect(typeof frame.peerId).toBe('string');
      expect(frame.expiresAt === null || Number.isFinite(frame.expiresAt)).toBe(true);
      expect(Number.isFinite(frame.serverTime)).toBe(true);
      break;
    case 'error':
      expect(ERROR_CODES).toContain(frame.code);
      break;
    case 'presence':
      for (const member of [...frame.joined, ...frame.left])
        expect(typeof member.peerId).toBe('string');
      break;
    case 'message':
      expect(typeof frame.channel).toBe('string');
      expect(typeof frame.from).toBe('string');
      break;
    case 'direct':
      expect(typeof frame.from).toBe('string');
      break;
    case 'ack':
      expect(typeof frame.requestId).toBe('string');
      break;
    case 'going_away':
    case 'pong':
      break;
    case 'unsubscribed':
      expect(typeof frame.channel).toBe('string');
      expect(ERROR_CODES).toContain(frame.code);
      break;
  }
}

describe('parseClientFrame under random input', () => {
  it('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => checkClient(text)),
      { numRuns: RUNS },
    );
  });

  it('never throws on random JSON and accepts only valid frames', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => checkClient(JSON.stringify(value) ?? 'null')),
      {
        numRuns: RUNS,
      },
    );
  });

  it('never accepts an invalid frame-shaped object', () => {
    fc.assert(
      fc.property(
        frameLike(clientTypes, [
          'channel',
          'requestId',
          'data',
          'to',
          'includeSenderMetadata',
          'since',
          'idempotencyKey',
          'token',
        ]),
        (value) => checkClient(JSON.stringify(value)),
      ),
      { numRuns: RUNS },
    );
  });

  it('never throws on random bytes decoded as UTF-8 (invalid sequences included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) =>
        checkClient(new TextDecoder().decode(bytes)),
      ),
      { numRuns: RUNS },
    );
  });
});

describe('parseServerFrame under random input', () => {
  it('never throws on random text or bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => checkServer(text)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) =>
        checkServer(new TextDecoder().decode(bytes)),
      ),
      { numRuns: RUNS },
    );
  });

  it('never accepts an invalid frame-shaped object', () => {
    fc.assert(
      fc.property(
        frameLike(serverTypes, [
          'peerId',
          'expiresAt',
          'serverTime',
          'maxMessageSize',
          'metadata',
          'requestId',
          'code',
          'message',
          'channel',
          'from',
          'data',
          'joined',
          'left',
          'retryAfterMs',
          'offset',
          'epoch',
          'extensions',
        ]),
        (value) => checkServer(JSON.stringify(value)),
      ),
      { numRuns: RUNS },
    );
  });

  it('survives deep nesting', () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    expect(parseServerFrame(deep).ok).toBe(false);
    expect(parseClientFrame(deep).ok).toBe(false);
  });
});
