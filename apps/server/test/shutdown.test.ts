import { describe, expect, it } from 'vitest';
import { MemoryBroker, type Broker, type ChannelMessage } from '../src/index.js';
import {
  connect,
  connectWithKey,
  rest,
  startTestServer,
  testApp,
  type Frame,
  type TestClient,
} from './helpers.js';
import { PUBLISHABLE_KEY } from './helpers.js';

describe('graceful shutdown', () => {
  it('sends going_away {retryAfterMs} then closes 1001, and resolves once drained', async () => {
    const server = await startTestServer({ shutdownRetryAfterMs: 2500 });
    const alice = await connectWithKey(server);
    const bob = await connectWithKey(server);
    await alice.request({ type: 'subscribe', channel: 'room' });
    await server.close();
    for (const client of [alice, bob]) {
      expect((await client.closed).code).toBe(1001);
      expect(client.frames.at(-1)).toEqual({ type: 'going_away', retryAfterMs: 2500 });
    }
  });

  it('tells every member going_away before any member hears another one leave', async () => {
    const server = await startTestServer();
    const members = [
      await connectWithKey(server),
      await connectWithKey(server),
      await connectWithKey(server),
    ];
    for (const member of members) await member.request({ type: 'subscribe', channel: 'room' });
    await server.close();
    for (const member of members) {
      expect((await member.closed).code).toBe(1001);
      const notice = member.frames.findIndex((frame) => frame.type === 'going_away');
      const firstLeft = member.frames.findIndex(
        (frame) => frame.type === 'presence' && (frame.left as unknown[]).length > 0,
      );
      expect(notice).toBeGreaterThanOrEqual(0);
      if (firstLeft >= 0) expect(notice).toBeLessThan(firstLeft);
    }
  });

  it('is idempotent and refuses new connections afterwards', async () => {
    const server = await startTestServer();
    const client = await connectWithKey(server);
    const first = server.close();
    const second = server.close();
    expect(second).toBe(first);
    await first;
    expect((await client.closed).code).toBe(1001);
    const late = connect(server, { key: PUBLISHABLE_KEY });
    await expect(late.opened).rejects.toThrow();
    await expect(rest(server, 'GET', '/healthz')).rejects.toThrow();
  });

  it('terminates sockets that do not finish the closing handshake within the drain timeout', async () => {
    const server = await startTestServer({ drainTimeoutMs: 200 });
    const client = await connectWithKey(server);
    const tcp = (client.socket as unknown as { _socket: { pause(): void } })._socket;
    tcp.pause();
    await server.close();
    client.terminate();
  });
});

/** A memory broker whose publishes are seen at once and answered when `release` is called. */
function gatedBroker(): {
  broker: Broker;
  seen: unknown[];
  firstSeen: Promise<void>;
  release: () => void;
} {
  const inner = new MemoryBroker();
  const seen: unknown[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markSeen!: () => void;
  const firstSeen = new Promise<void>((resolve) => (markSeen = resolve));
  const publish = (appId: string, message: ChannelMessage): Promise<number> => {
    seen.push(message.data);
    markSeen();
    return gate.then(() => inner.publish(appId, message));
  };
  return { broker: delegating(inner, publish), seen, firstSeen, release };
}

/** A memory broker that answers each publish a macrotask later, recording what it saw. */
function slowBroker(): { broker: Broker; seen: unknown[] } {
  const inner = new MemoryBroker();
  const seen: unknown[] = [];
  const publish = (appId: string, message: ChannelMessage): Promise<number> => {
    seen.push(message.data);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      inner.publish(appId, message),
    );
  };
  return { broker: delegating(inner, publish), seen };
}

function delegating(inner: MemoryBroker, publish: Broker['publish']): Broker {
  const broker: Broker = new Proxy(inner, {
    get(target, property) {
      if (property === 'publish') return publish;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return broker;
}

function answerTo(client: TestClient, requestId: string): Frame | undefined {
  return client.frames.find(
    (frame) => (frame.type === 'ack' || frame.type === 'error') && frame.requestId === requestId,
  );
}

describe('graceful shutdown drains what it received', () => {
  it('answers a publish in flight and the frames queued behind it before closing 1001', async () => {
    const { broker, seen, firstSeen, release } = gatedBroker();
    const server = await startTestServer({
      brokerImplementation: broker,
      shutdownRetryAfterMs: 100,
    });
    const alice = await connectWithKey(server);
    await alice.welcome();
    for (let index = 0; index < 10; index++) {
      alice.sendJson({ type: 'publish', channel: 'room', data: index, requestId: `p${index}` });
    }
    await firstSeen;
    const closed = server.close();
    setImmediate(release);
    await closed;
    expect((await alice.closed).code).toBe(1001);
    expect(alice.ofType('going_away')).toEqual([{ type: 'going_away', retryAfterMs: 100 }]);
    expect(seen.length).toBeGreaterThan(0);
    for (const index of seen as number[]) {
      expect(answerTo(alice, `p${index}`)).toEqual({ type: 'ack', requestId: `p${index}` });
    }
  });

  it('answers every publish it received from a client publishing throughout the shutdown', async () => {
    const { broker, seen } = slowBroker();
    const server = await startTestServer({
      brokerImplementation: broker,
      shutdownRetryAfterMs: 200,
      // The publisher sends as fast as it is answered: the message rate is not under test.
      apps: [testApp({ limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000 } })],
    });
    const alice = await connectWithKey(server);
    await alice.welcome();
    const window = 4;
    let sent = 0;
    let open = true;
    const publishNext = (): void => {
      if (!open) return;
      const requestId = `p${sent}`;
      alice.sendJson({ type: 'publish', channel: 'room', data: sent, requestId });
      sent++;
      void alice
        .waitFor((frame) => frame.requestId === requestId)
        .then(publishNext, () => undefined);
    };
    void alice.closed.then(() => {
      open = false;
    });
    for (let index = 0; index < window; index++) publishNext();
    await alice.waitFor((frame) => frame.requestId === 'p20');
    await server.close();
    expect((await alice.closed).code).toBe(1001);
    const notice = alice.frames.findIndex((frame) => frame.type === 'going_away');
    expect(notice).toBeGreaterThan(0);
    // The server kept serving through the grace period.
    expect(alice.frames.slice(notice + 1).some((frame) => frame.type === 'ack')).toBe(true);
    const answered = new Set<number>();
    for (let index = 0; index < sent; index++) {
      const answer = answerTo(alice, `p${index}`);
      if (answer === undefined) continue;
      expect(answer.type).toBe('ack');
      answered.add(index);
    }
    // Every publish that reached the broker was answered; every unanswered one never arrived.
    expect(new Set(seen as number[])).toEqual(answered);
    expect(answered.size).toBeGreaterThan(20);
  });

  it('answers a REST request in flight instead of cutting it', async () => {
    const { broker, firstSeen, release } = gatedBroker();
    const server = await startTestServer({ brokerImplementation: broker });
    const response = rest(server, 'POST', '/v1/channels/room/publish', { body: { data: 1 } });
    await firstSeen;
    const closed = server.close();
    setImmediate(release);
    expect((await response).status).toBe(200);
    await closed;
  });
});
