import { describe, expect, it } from 'vitest';
import {
  MemoryBroker,
  type Broker,
  type BrokerConnection,
  type ChannelMessage,
  type DirectMessage,
  type PeerRevocation,
  type SubscribeOptions,
} from '../src/index.js';
import {
  PUBLISHABLE_KEY,
  connect,
  connectWithKey,
  connectWithToken,
  rest,
  startTestServer,
  testApp,
} from './helpers.js';

/** Answers every call a macrotask later, like a network broker would. */
function later<T>(compute: () => T): Promise<T> {
  return new Promise<void>((resolve) => setImmediate(resolve)).then(compute);
}

class AsyncBroker implements Broker {
  private readonly inner = new MemoryBroker();
  acquireConnection(appId: string, maxConcurrent: number) {
    return later(() => this.inner.acquireConnection(appId, maxConcurrent));
  }
  releaseConnection(appId: string) {
    return later(() => this.inner.releaseConnection(appId));
  }
  attach(connection: BrokerConnection) {
    return later(() => this.inner.attach(connection));
  }
  detach(connection: BrokerConnection) {
    return later(() => this.inner.detach(connection));
  }
  subscribe(connection: BrokerConnection, channel: string, options: SubscribeOptions) {
    return later(() => this.inner.subscribe(connection, channel, options));
  }
  unsubscribe(connection: BrokerConnection, channel: string) {
    return later(() => this.inner.unsubscribe(connection, channel));
  }
  publish(appId: string, message: ChannelMessage) {
    return later(() => this.inner.publish(appId, message));
  }
  sendDirect(appId: string, message: DirectMessage) {
    return later(() => this.inner.sendDirect(appId, message));
  }
  members(appId: string, channel: string) {
    return later(() => this.inner.members(appId, channel));
  }
  closePeer(appId: string, peerId: string, code: number, reason: string) {
    return later(() => this.inner.closePeer(appId, peerId, code, reason));
  }
  revokePeerTokens(appId: string, peerId: string, revocation: PeerRevocation, now: number) {
    return later(() => this.inner.revokePeerTokens(appId, peerId, revocation, now));
  }
  peerRevocation(appId: string, peerId: string, now: number) {
    return later(() => this.inner.peerRevocation(appId, peerId, now));
  }
  closeApp(appId: string, code: number, reason: string) {
    return later(() => this.inner.closeApp(appId, code, reason));
  }
  consumeMessage(appId: string, periodStart: number, limit: number) {
    return later(() => this.inner.consumeMessage(appId, periodStart, limit));
  }
  usage(appId: string, periodStart: number) {
    return later(() => this.inner.usage(appId, periodStart));
  }
  close() {
    return later(() => this.inner.close());
  }
}

describe('the connection code over an asynchronous broker', () => {
  it('keeps per-socket order: ack, snapshot, and FIFO directs', async () => {
    const server = await startTestServer({ brokerImplementation: new AsyncBroker() });
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    alice.sendJson({ type: 'subscribe', channel: 'room', requestId: 's1' });
    alice.sendJson({ type: 'publish', channel: 'room', data: 0, requestId: 'p1' });
    for (let index = 0; index < 20; index++) {
      alice.sendJson({ type: 'send', to: 'bob', data: index, requestId: `d${index}` });
    }
    await alice.waitFor((frame) => frame.requestId === 'd19');
    expect(alice.frames.slice(1, 4).map((frame) => frame.type)).toEqual(['ack', 'presence', 'ack']);
    const answers = alice.frames
      .filter((frame) => frame.type === 'ack')
      .map((frame) => frame.requestId);
    expect(answers).toEqual(['s1', 'p1', ...Array.from({ length: 20 }, (_, index) => `d${index}`)]);
    await bob.sync();
    expect(bob.ofType('direct').map((frame) => frame.data)).toEqual([...Array(20).keys()]);
  });

  it('announces joins and leaves, routes publishes and kicks', async () => {
    const server = await startTestServer({ brokerImplementation: new AsyncBroker() });
    const alice = await connectWithToken(server, 'alice');
    const bob = await connectWithToken(server, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    expect(
      await alice.waitFor((frame) => frame.type === 'presence' && frame.joined.length > 0),
    ).toMatchObject({ joined: [{ peerId: 'bob' }] });
    await bob.request({ type: 'publish', channel: 'room', data: 'hi' });
    expect((await alice.waitFor((frame) => frame.type === 'message')).data).toBe('hi');
    expect((await rest(server, 'DELETE', '/v1/peers/bob')).body.closed).toBe(1);
    expect((await bob.closed).code).toBe(4020);
    expect(
      await alice.waitFor((frame) => frame.type === 'presence' && frame.left.length > 0),
    ).toMatchObject({ left: [{ peerId: 'bob' }] });
    expect(await alice.request({ type: 'send', to: 'bob', data: 1 })).toMatchObject({
      code: 'peer_not_found',
    });
  });

  it('enforces the concurrent cap and releases slots', async () => {
    const server = await startTestServer({
      brokerImplementation: new AsyncBroker(),
      apps: [testApp({ plan: { maxConcurrentConnections: 1 } })],
    });
    const first = await connectWithKey(server);
    const second = connect(server, { key: PUBLISHABLE_KEY });
    expect((await second.closed).code).toBe(4010);
    await first.close();
    let usage = await rest(server, 'GET', '/v1/usage');
    while (usage.body.concurrentNow !== 0) usage = await rest(server, 'GET', '/v1/usage');
    await connectWithKey(server);
  });
});
