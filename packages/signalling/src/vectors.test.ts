import serverVectors from '@metered/protocol/test-vectors/server-frames.json' with { type: 'json' };
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, setup } from '../test/harness.js';
import { Direct, GoingAway, Message, Presence, ServerError, SubscriptionEnded } from './index.js';

// The shared server-frame vectors, through a connected client: what the strict parser of
// @metered/protocol accepts the client acts on, what it rejects the client drops as malformed.

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The event a valid frame becomes, from the parser's normalised frame (undefined: none). */
function expectedEvent(
  frame: Fields,
): [abstract new (...args: never[]) => object, Fields] | undefined {
  switch (frame.type) {
    case 'message':
      return [
        Message,
        {
          channel: frame.channel,
          senderPeerId: frame.from,
          data: frame.data,
          senderMetadata: frame.fromMetadata ?? null,
          // Extension `recovery`: the message's position, when the frame has one.
          ...(frame.offset !== undefined && { offset: frame.offset, epoch: frame.epoch }),
        },
      ];
    case 'unsubscribed':
      return [SubscriptionEnded, { channel: frame.channel, code: frame.code }];
    case 'direct':
      return [
        Direct,
        { senderPeerId: frame.from, data: frame.data, senderMetadata: frame.fromMetadata ?? null },
      ];
    case 'presence': {
      const peers = (list: unknown) =>
        (list as Fields[]).map(({ peerId, metadata }) => ({ peerId, metadata: metadata ?? null }));
      return [
        Presence,
        { channel: frame.channel, joined: peers(frame.joined), left: peers(frame.left) },
      ];
    }
    case 'going_away':
      return [GoingAway, { retryAfterMs: frame.retryAfterMs ?? 1000 }];
    case 'error':
      return frame.code === 'unknown_type' && frame.requestId === undefined
        ? undefined
        : [
            ServerError,
            {
              code: frame.code,
              message: frame.message ?? null,
              requestId: frame.requestId ?? null,
            },
          ];
    default:
      return undefined;
  }
}

describe('server-frame vectors through the client', () => {
  it.each(serverVectors.valid.map((vector) => [vector.name, vector] as const))(
    'acts on %s',
    async (_name, vector) => {
      const { client, connect, events, logged } = setup();
      const socket = await connect();
      const before = events.length;
      socket.deliver(vector.text);
      await flush();
      expect(logged()).not.toMatch(/malformed/);
      expect(client.state).toBe('connected');
      const expected = expectedEvent(vector.frame);
      const added = events.slice(before);
      if (expected) {
        expect(added).toHaveLength(1);
        expect(added[0]).toBeInstanceOf(expected[0]);
        expect({ ...added[0] }).toEqual(expected[1]);
        expect(Object.isFrozen(added[0])).toBe(true);
      } else {
        expect(added).toEqual([]);
      }
      await client.close();
    },
  );

  it.each(serverVectors.invalid.map((vector) => [vector.name, vector] as const))(
    'drops %s',
    async (_name, vector) => {
      const { client, connect, events, logged } = setup();
      const socket = await connect();
      const before = events.length;
      socket.deliver(vector.text);
      await flush();
      expect(logged()).toMatch(/malformed/);
      expect(events.slice(before)).toEqual([]);
      expect(client.state).toBe('connected');
      expect(isObject(socket.closedWith)).toBe(false);
      await client.close();
    },
  );
});
