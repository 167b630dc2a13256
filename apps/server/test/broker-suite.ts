import { randomUUID } from 'node:crypto';
import type { JsonObject, PresenceMember } from '@metered/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerConnection } from '../src/index.js';
import { eventually } from './redis-server.js';

/** Brokers that share state: the nodes of one cluster (the memory broker: the same one twice). */
export interface BrokerCluster {
  readonly nodes: readonly [Broker, Broker];
  dispose(): Promise<void>;
}

export interface TestFrame {
  readonly type: string;
  readonly [key: string]: any;
}

/** A socket as the broker sees it, recording what it is sent. */
export class FakeConnection implements BrokerConnection {
  readonly id = randomUUID();
  readonly frames: TestFrame[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  constructor(
    readonly appId: string,
    readonly peerId: string,
    readonly peerMetadata: JsonObject | undefined = undefined,
    readonly visibleInPresence = true,
  ) {}
  deliver(frame: string): void {
    this.frames.push(JSON.parse(frame) as TestFrame);
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  ofType(type: string): TestFrame[] {
    return this.frames.filter((frame) => frame.type === type);
  }
  /** Presence frames after the snapshot, as `+peer` / `-peer` strings. */
  deltas(channel: string): string[] {
    return this.frames
      .filter((frame) => frame.type === 'presence' && frame.channel === channel)
      .flatMap((frame) => [
        ...frame.left.map((member: PresenceMember) => `-${member.peerId}`),
        ...frame.joined.map((member: PresenceMember) => `+${member.peerId}`),
      ]);
  }
}

const APP = 'app1';

async function join(
  broker: Broker,
  connection: FakeConnection,
  channel: string,
  includeSenderMetadata = false,
): Promise<void> {
  await broker.subscribe(connection, channel, {
    includeSenderMetadata,
    beforeAnnounce: (members) =>
      connection.frames.push({ type: 'snapshot', channel, members: [...members] }),
  });
}

async function online(
  broker: Broker,
  peerId: string,
  options: { metadata?: JsonObject; visible?: boolean; app?: string } = {},
): Promise<FakeConnection> {
  const connection = new FakeConnection(
    options.app ?? APP,
    peerId,
    options.metadata,
    options.visible ?? true,
  );
  expect(await broker.acquireConnection(connection.appId, 1000)).toBe(true);
  await broker.attach(connection);
  return connection;
}

function peerIds(members: readonly PresenceMember[]): string[] {
  return members.map((member) => member.peerId).sort();
}

/**
 * The behaviour every broker shares, run against the memory broker and the Redis broker. With
 * two nodes, connections are spread over both: whatever works on one node works across nodes.
 */
export function describeBroker(name: string, createCluster: () => Promise<BrokerCluster>): void {
  describe(`${name} broker`, () => {
    const clusters: BrokerCluster[] = [];
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((cluster) => cluster.dispose()));
    });
    const cluster = async (): Promise<readonly [Broker, Broker]> => {
      const created = await createCluster();
      clusters.push(created);
      return created.nodes;
    };

    it('fans a message out to every subscriber but the publisher, on both nodes', async () => {
      const [a, b] = await cluster();
      const alice = await online(a, 'alice', { metadata: { role: 'host' } });
      const bob = await online(a, 'bob');
      const carol = await online(b, 'carol');
      await join(a, alice, 'room');
      await join(a, bob, 'room');
      await join(b, carol, 'room', true);
      expect(
        await a.publish(APP, {
          channel: 'room',
          from: 'alice',
          data: { n: 1 },
          fromMetadata: { role: 'host' },
          excludeConnectionId: alice.id,
        }),
      ).toBe(2);
      await eventually(
        () => bob.ofType('message').length === 1 && carol.ofType('message').length === 1,
        'the message on both nodes',
      );
      expect(bob.ofType('message')[0]).toEqual({
        type: 'message',
        channel: 'room',
        from: 'alice',
        data: { n: 1 },
      });
      expect(carol.ofType('message')[0]).toEqual({
        type: 'message',
        channel: 'room',
        from: 'alice',
        data: { n: 1 },
        fromMetadata: { role: 'host' },
      });
      // A later message from carol reaches alice; had alice's own been echoed, it would be first.
      expect(
        await b.publish(APP, {
          channel: 'room',
          from: 'carol',
          data: null,
          fromMetadata: undefined,
          excludeConnectionId: carol.id,
        }),
      ).toBe(2);
      await eventually(() => alice.ofType('message').length === 1, 'carol’s message at alice');
      expect(alice.ofType('message')[0]).toMatchObject({ from: 'carol', data: null });
      expect(
        await a.publish(APP, { channel: 'empty', from: 'alice', data: 1, fromMetadata: undefined }),
      ).toBe(0);
      expect(
        await a.publish('other-app', {
          channel: 'room',
          from: 'x',
          data: 1,
          fromMetadata: undefined,
        }),
      ).toBe(0);
    });

    it('gives a snapshot, then joined and left deltas, across nodes', async () => {
      const [a, b] = await cluster();
      const alice = await online(a, 'alice', { metadata: { name: 'A' } });
      const bob = await online(b, 'bob');
      const watcher = await online(b, 'watcher', { visible: false });
      await join(a, alice, 'room');
      expect(alice.frames).toEqual([{ type: 'snapshot', channel: 'room', members: [] }]);
      await join(b, bob, 'room');
      expect(bob.frames[0]).toEqual({
        type: 'snapshot',
        channel: 'room',
        members: [{ peerId: 'alice', metadata: { name: 'A' } }],
      });
      await join(b, watcher, 'room');
      expect(peerIds(watcher.frames[0]?.members)).toEqual(['alice', 'bob']);
      await eventually(() => alice.deltas('room').length === 1, 'bob joined at alice');
      expect(alice.deltas('room')).toEqual(['+bob']);
      expect(peerIds(await a.members(APP, 'room'))).toEqual(['alice', 'bob']);
      expect(peerIds(await b.members(APP, 'room'))).toEqual(['alice', 'bob']);
      await b.unsubscribe(bob, 'room');
      await eventually(() => alice.deltas('room').length === 2, 'bob left at alice');
      expect(alice.deltas('room')).toEqual(['+bob', '-bob']);
      await a.detach(alice);
      await eventually(() => watcher.deltas('room').length === 2, 'alice left at the watcher');
      expect(watcher.deltas('room')).toEqual(['-bob', '-alice']);
      expect(await b.members(APP, 'room')).toEqual([]);
      // A repeat subscribe is a fresh roster, with no delta for the others.
      await join(b, bob, 'room');
      await join(b, bob, 'room');
      expect(
        bob
          .ofType('snapshot')
          .slice(-2)
          .map((frame) => frame.members),
      ).toEqual([[], []]);
      await eventually(
        () => watcher.deltas('room').length === 3,
        'bob joined again at the watcher',
      );
      await b.publish(APP, { channel: 'room', from: 'x', data: 'sync', fromMetadata: undefined });
      await eventually(
        () => watcher.ofType('message').length === 1,
        'a message after the repeat subscribe',
      );
      expect(watcher.deltas('room')).toEqual(['-bob', '-alice', '+bob']);
    });

    it('announces left before joined when a peer id subscribes from a second socket', async () => {
      const [a, b] = await cluster();
      const alice = await online(a, 'alice');
      const first = await online(a, 'bob', { metadata: { socket: 1 } });
      const second = await online(b, 'bob', { metadata: { socket: 2 } });
      await join(a, alice, 'room');
      await join(a, first, 'room');
      await join(b, second, 'room');
      await eventually(() => alice.deltas('room').length === 3, 'three deltas');
      expect(alice.deltas('room')).toEqual(['+bob', '-bob', '+bob']);
      expect(alice.ofType('presence').at(-1)?.joined).toEqual([
        { peerId: 'bob', metadata: { socket: 2 } },
      ]);
      // The old socket going away is not a departure while the new one stays.
      await a.detach(first);
      await b.publish(APP, { channel: 'room', from: 'x', data: 'sync', fromMetadata: undefined });
      await eventually(() => alice.ofType('message').length === 1, 'a message after the detach');
      expect(alice.deltas('room')).toEqual(['+bob', '-bob', '+bob']);
      const members = await a.members(APP, 'room');
      expect(peerIds(members)).toEqual(['alice', 'bob']);
      expect(members.find((member) => member.peerId === 'bob')?.metadata).toEqual({ socket: 2 });
    });

    it('routes directs FIFO per sender and recipient across nodes, and after the joined', async () => {
      const [a, b] = await cluster();
      const alice = await online(a, 'alice', { metadata: { m: 1 } });
      const bob = await online(b, 'bob');
      await join(b, bob, 'room');
      await join(a, alice, 'room');
      const counts = [];
      for (let index = 0; index < 50; index++) {
        counts.push(
          await a.sendDirect(APP, {
            from: 'alice',
            to: 'bob',
            data: index,
            fromMetadata: { m: 1 },
          }),
        );
      }
      expect(counts.every((count) => count === 1)).toBe(true);
      await eventually(() => bob.ofType('direct').length === 50, 'fifty directs');
      expect(bob.ofType('direct').map((frame) => frame.data)).toEqual([...Array(50).keys()]);
      expect(bob.ofType('direct')[0]).toEqual({
        type: 'direct',
        from: 'alice',
        data: 0,
        fromMetadata: { m: 1 },
      });
      // The newcomer's joined reached bob before any of its directs.
      const firstDirect = bob.frames.findIndex((frame) => frame.type === 'direct');
      const joined = bob.frames.findIndex(
        (frame) => frame.type === 'presence' && frame.joined.length > 0,
      );
      expect(joined).toBeGreaterThanOrEqual(0);
      expect(joined).toBeLessThan(firstDirect);
      expect(
        await b.sendDirect(APP, { from: 'bob', to: 'nobody', data: 1, fromMetadata: undefined }),
      ).toBe(0);
      expect(
        await b.sendDirect('other-app', {
          from: 'bob',
          to: 'alice',
          data: 1,
          fromMetadata: undefined,
        }),
      ).toBe(0);
    });

    it('closes every socket of a peer id, and every socket of an app, on any node', async () => {
      const [a, b] = await cluster();
      const first = await online(a, 'bob');
      const second = await online(b, 'bob');
      const alice = await online(b, 'alice');
      const other = await online(a, 'zed', { app: 'app2' });
      expect(await b.closePeer(APP, 'bob', 4020, 'kicked')).toBe(2);
      await eventually(
        () => first.closes.length === 1 && second.closes.length === 1,
        'both bob sockets closed',
      );
      expect(first.closes[0]).toEqual({ code: 4020, reason: 'kicked' });
      expect(await a.closePeer(APP, 'nobody', 4020, 'kicked')).toBe(0);
      expect(await a.closeApp(APP, 4012, 'suspended')).toBe(3);
      await eventually(
        () => alice.closes.length === 1 && first.closes.length === 2,
        'the app closed',
      );
      expect(alice.closes[0]?.code).toBe(4012);
      expect(other.closes).toEqual([]);
    });

    it('keeps a revocation of a peer id visible on every node until it ends', async () => {
      const [a, b] = await cluster();
      const now = Date.now();
      expect(await b.peerRevocation(APP, 'bob', now)).toBeUndefined();
      const revocation = { issuedUpTo: Math.floor(now / 1000), until: now + 60_000 };
      await a.revokePeerTokens(APP, 'bob', revocation, now);
      expect(await b.peerRevocation(APP, 'bob', now)).toEqual(revocation);
      expect(await a.peerRevocation(APP, 'bob', now)).toEqual(revocation);
      expect(await b.peerRevocation('app2', 'bob', now)).toBeUndefined();
      expect(await b.peerRevocation(APP, 'alice', now)).toBeUndefined();
      // Ended: the clock passed `until`.
      expect(await b.peerRevocation(APP, 'bob', now + 60_000)).toBeUndefined();
    });

    it('counts concurrent connections against the cap across nodes', async () => {
      const [a, b] = await cluster();
      expect(await a.acquireConnection(APP, 2)).toBe(true);
      expect(await b.acquireConnection(APP, 2)).toBe(true);
      expect(await b.acquireConnection(APP, 2)).toBe(false);
      expect(await a.acquireConnection('app2', 2)).toBe(true);
      await a.releaseConnection(APP);
      expect(await b.acquireConnection(APP, 2)).toBe(true);
      const usage = await a.usage(APP, 0);
      expect(usage).toMatchObject({ concurrentNow: 2, peakConcurrent: 2 });
      // Detaching an attached connection gives its slot back, once.
      const connection = new FakeConnection(APP, 'alice');
      await a.releaseConnection(APP);
      expect(await a.acquireConnection(APP, 2)).toBe(true);
      await a.attach(connection);
      await a.detach(connection);
      await a.detach(connection);
      expect((await b.usage(APP, 0)).concurrentNow).toBe(1);
    });

    it('counts publish and send against the period quota across nodes', async () => {
      const [a, b] = await cluster();
      expect(await a.consumeMessage(APP, 1000, 3)).toEqual({ allowed: true, used: 1 });
      expect(await b.consumeMessage(APP, 1000, 3)).toEqual({ allowed: true, used: 2 });
      expect(await a.consumeMessage(APP, 1000, 3)).toEqual({ allowed: true, used: 3 });
      expect(await b.consumeMessage(APP, 1000, 3)).toEqual({ allowed: false, used: 4 });
      expect((await a.usage(APP, 1000)).messagesUsed).toBe(4);
      expect((await a.usage(APP, 2000)).messagesUsed).toBe(0);
      expect(await b.consumeMessage(APP, 2000, 3)).toEqual({ allowed: true, used: 1 });
      expect((await a.usage('app2', 2000)).messagesUsed).toBe(0);
    });

    it('detaches idempotently: one left, and nothing more reaches the socket', async () => {
      const [a, b] = await cluster();
      const alice = await online(a, 'alice');
      const bob = await online(b, 'bob');
      await join(a, alice, 'room');
      await join(b, bob, 'room');
      await b.detach(bob);
      await b.detach(bob);
      await a.publish(APP, { channel: 'room', from: 'x', data: 1, fromMetadata: undefined });
      await eventually(() => alice.ofType('message').length === 1, 'the message at alice');
      expect(alice.deltas('room')).toEqual(['+bob', '-bob']);
      expect(bob.ofType('message')).toEqual([]);
      expect(
        await a.sendDirect(APP, { from: 'alice', to: 'bob', data: 1, fromMetadata: undefined }),
      ).toBe(0);
    });

    it('closes idempotently', async () => {
      const [a, b] = await cluster();
      await Promise.all([a.close(), a.close()]);
      await a.close();
      await b.close();
    });
  });
}
