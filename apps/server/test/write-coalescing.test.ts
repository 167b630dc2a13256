import { setImmediate as nextTurn } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalesceWrites, fanOutFrame } from '../src/outbound.js';
import {
  connectWithKey,
  connectWithToken,
  rest,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';

/** The test app without a per-connection message rate worth mentioning: bursts are the point. */
const unthrottledApp = testApp({
  limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000 },
});

/** A stream that records each batch the stream machinery hands it (one batch = one syscall). */
function recordingStream(): { stream: Writable; batches: string[][] } {
  const batches: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      batches.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      batches.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { stream, batches };
}

/** The TCP socket under a `ws` client, to pause reading or to batch the client's own writes. */
function tcpOf(client: TestClient): {
  pause(): void;
  resume(): void;
  cork(): void;
  uncork(): void;
} {
  return (
    client.socket as unknown as {
      _socket: { pause(): void; resume(): void; cork(): void; uncork(): void };
    }
  )._socket;
}

describe('write coalescing', () => {
  it('holds the writes of one turn and hands them to the transport as one batch, in order', async () => {
    const { stream, batches } = recordingStream();
    coalesceWrites(stream);
    stream.write('a');
    coalesceWrites(stream);
    stream.write('b');
    stream.write('c');
    expect(batches).toEqual([]);
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    expect(stream.writableCorked).toBe(0);

    // The next turn starts a batch of its own.
    coalesceWrites(stream);
    stream.write('d');
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
    stream.destroy();
  });

  it('encodes a fan-out frame once, to the UTF-8 bytes of its text', () => {
    const text = JSON.stringify({ type: 'message', channel: 'ü', from: 'p', data: '€' });
    const frame = fanOutFrame(text);
    expect(Buffer.isBuffer(frame)).toBe(true);
    expect(frame.toString('utf8')).toBe(text);
  });

  it('keeps per-socket FIFO for messages, directs and acks written in the same turn', async () => {
    const server = await startTestServer({ apps: [unthrottledApp] });
    const receiver = await connectWithToken(server, 'receiver');
    await receiver.request({ type: 'subscribe', channel: 'room' });
    const sender = await connectWithToken(server, 'sender');
    const count = 300;
    // One TCP write from the sender, so that the server handles the frames in as few turns as
    // it can and the receiver's frames of a turn leave together.
    const tcp = tcpOf(sender);
    tcp.cork();
    for (let index = 0; index < count; index++) {
      if (index % 3 === 1) sender.sendJson({ type: 'send', to: 'receiver', data: index });
      else sender.sendJson({ type: 'publish', channel: 'room', data: index });
    }
    sender.sendJson({ type: 'ping' });
    tcp.uncork();
    await sender.waitFor((frame) => frame.type === 'pong');
    await receiver.sync();
    const received = receiver.frames
      .filter((frame) => frame.type === 'message' || frame.type === 'direct')
      .map((frame) => `${frame.type}:${String(frame.data)}`);
    expect(received).toEqual(
      Array.from(
        { length: count },
        (_, index) => `${index % 3 === 1 ? 'direct' : 'message'}:${index}`,
      ),
    );
  });

  it('still closes a slow consumer with 1008, and a reader that takes in bursts over the bound is not one', async () => {
    const server = await startTestServer({
      apps: [unthrottledApp],
      maxOutboundBufferBytes: 16 * 1024,
      restRequestsPerMinute: 1_000_000,
    });
    const slow = await connectWithKey(server);
    await slow.request({ type: 'subscribe', channel: 'firehose' });
    const fast = await connectWithKey(server);
    await fast.request({ type: 'subscribe', channel: 'firehose' });
    const publisher = await connectWithKey(server);
    tcpOf(slow).pause();

    const data = 'x'.repeat(1024);
    let published = 0;
    let closedByServer = false;
    // Bursts of publishes in one TCP write each, until the server has dropped the slow socket
    // from the channel (it is closed then), in a bounded number of rounds.
    for (let round = 0; round < 1000 && !closedByServer; round++) {
      const tcp = tcpOf(publisher);
      tcp.cork();
      for (let index = 0; index < 32; index++) {
        publisher.sendJson({
          type: 'publish',
          channel: 'firehose',
          data: `${published++}:${data}`,
        });
      }
      tcp.uncork();
      await publisher.sync();
      const { body } = await rest(server, 'GET', '/v1/channels/firehose/peers');
      closedByServer = (body as { peers: unknown[] }).peers.length === 1;
    }
    expect(closedByServer).toBe(true);
    tcpOf(slow).resume();
    expect((await slow.closed).code).toBe(1008);

    await fast.sync();
    const indices = fast.ofType('message').map((frame) => Number(String(frame.data).split(':')[0]));
    expect(indices).toEqual(Array.from({ length: published }, (_, index) => index));
    // Each burst (32 KiB to every subscriber in one turn) was over the 16 KiB bound.
    expect(fast.socket.readyState).toBe(fast.socket.OPEN);
  });
});
