import { MAX_SERVER_FRAME_LENGTH } from '@metered/protocol';
import { describe, expect, it } from 'vitest';
import { PUBLISHABLE_KEY, connect, startTestServer, testApp, type TestClient } from './helpers.js';
import type { RunningServer } from '../src/index.js';

/** A client that enforces the protocol's 1 MiB cap on server frames: `ws` closes with 1009. */
async function cappedClient(server: RunningServer): Promise<TestClient> {
  const client = connect(server, { key: PUBLISHABLE_KEY }, { maxPayload: MAX_SERVER_FRAME_LENGTH });
  await client.welcome();
  return client;
}

/** `[1e20,1e20,…]`: under 300 kB as sent, over 1.2 MB once each number is written out. */
const GROWING_DATA = `[${Array.from({ length: 59_000 }, () => '1e20').join(',')}]`;

describe('no server frame exceeds the 1 MiB a client accepts', () => {
  it('refuses a publish whose data re-encodes past the cap; subscribers stay connected', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxMessageSize: 1_040_384 } })],
    });
    const publisher = await cappedClient(server);
    const subscriber = await cappedClient(server);
    await subscriber.request({ type: 'subscribe', channel: 'room' });
    publisher.socket.send(
      `{"type":"publish","channel":"room","data":${GROWING_DATA},"requestId":"big"}`,
    );
    expect(await publisher.waitFor((frame) => frame.requestId === 'big')).toMatchObject({
      type: 'error',
      code: 'malformed_message',
    });
    // A publish as large as the sender's but that does not grow still goes through.
    const fitting = 'x'.repeat(295_000);
    expect(
      await publisher.request({ type: 'publish', channel: 'room', data: fitting }),
    ).toMatchObject({ type: 'ack' });
    const delivered = await subscriber.waitFor((frame) => frame.type === 'message');
    expect(delivered.data).toBe(fitting);
    expect(subscriber.ofType('message')).toHaveLength(1);
  });

  it('refuses a send whose data re-encodes past the cap; the target stays connected', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { maxMessageSize: 1_040_384 } })],
    });
    const sender = await cappedClient(server);
    const target = await cappedClient(server);
    const targetId = (await target.welcome()).peerId as string;
    sender.socket.send(
      `{"type":"send","to":${JSON.stringify(targetId)},"data":${GROWING_DATA},"requestId":"big"}`,
    );
    expect(await sender.waitFor((frame) => frame.requestId === 'big')).toMatchObject({
      type: 'error',
      code: 'malformed_message',
    });
    await target.sync();
    expect(target.ofType('direct')).toEqual([]);
  });
});
