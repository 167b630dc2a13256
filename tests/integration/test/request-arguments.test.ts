import { ServerRequestError, type SignallingClient } from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanUp, client, PUBLISHABLE_KEY, start } from './harness.js';

afterEach(cleanUp);

/** What the server answers each raw frame with: the `code` of its `error` frame. */
async function serverCodes(url: string, frames: readonly object[]): Promise<string[]> {
  const socket = new WebSocket(`${url}/v1?key=${PUBLISHABLE_KEY}`);
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data: Buffer) => {
    received.push(JSON.parse(data.toString()) as Record<string, unknown>);
    waiters.splice(0).forEach((wake) => wake());
  });
  const frame = async (predicate: (frame: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = received.find(predicate);
      if (found) return found;
      await new Promise<void>((wake) => waiters.push(wake));
    }
  };
  await frame((entry) => entry.type === 'welcome');
  const codes: string[] = [];
  for (const [index, body] of frames.entries()) {
    const requestId = `r${index}`;
    socket.send(JSON.stringify({ ...body, requestId }));
    const answer = await frame((entry) => entry.requestId === requestId);
    expect(answer.type).toBe('error');
    codes.push(answer.code as string);
  }
  socket.close();
  return codes;
}

const CASES: readonly [string, object, (client: SignallingClient) => Promise<void>][] = [
  [
    'subscribe to a name with a newline',
    { type: 'subscribe', channel: 'bad\nname' },
    (c) => c.subscribe('bad\nname'),
  ],
  ['subscribe to an empty name', { type: 'subscribe', channel: '' }, (c) => c.subscribe('')],
  [
    'unsubscribe from a 257-byte name',
    { type: 'unsubscribe', channel: 'x'.repeat(257) },
    (c) => c.unsubscribe('x'.repeat(257)),
  ],
  [
    'publish without data',
    { type: 'publish', channel: 'room' },
    (c) => c.publish('room', undefined),
  ],
  [
    'publish a function (JSON leaves it out)',
    { type: 'publish', channel: 'room' },
    (c) => c.publish('room', () => 1),
  ],
  [
    'send to a peer id with a newline',
    { type: 'send', to: 'bad\nid', data: 1 },
    (c) => c.send('bad\nid', 1),
  ],
  ['send without data', { type: 'send', to: 'peer-2' }, (c) => c.send('peer-2', undefined)],
];

describe('bad arguments against @metered/server', () => {
  it('reject with the ServerRequestError the server answers, without a round trip', async () => {
    const server = await start();
    const expected = await serverCodes(
      server.url,
      CASES.map(([, frame]) => frame),
    );
    expect(new Set(expected)).toEqual(
      new Set(['invalid_channel', 'missing_data', 'invalid_peer_id']),
    );

    const sent: string[] = [];
    const ours = client(server, {
      webSocketFactory: (url) => {
        const socket = new WebSocket(url);
        const send = socket.send.bind(socket);
        socket.send = ((data: string) => {
          sent.push(data);
          send(data);
        }) as typeof socket.send;
        return socket;
      },
    });
    await ours.connect();
    for (const [index, [name, , call]] of CASES.entries()) {
      const error = await call(ours).catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(ServerRequestError);
      expect(error, name).toMatchObject({ code: expected[index], requestId: null });
    }
    // Nothing but the `session` request the client sends after the welcome (the server offers
    // the `resume` extension) went out: every bad call was refused before the wire.
    expect(sent.filter((frame) => !frame.startsWith('{"type":"session"'))).toEqual([]);
  });
});
