import type {
  MeteredPeer as VendorMeteredPeer,
  RemotePeer as VendorRemotePeer,
} from '@metered-ca/realtime';
import {
  NodeMediaStream,
  NodeMediaStreamTrack,
  type RTCPeerConnection,
} from '@metered/node-webrtc-adapter';
import {
  ConnectionReset,
  Data,
  DataChannelOpened,
  IceCandidateError,
  NegotiationError,
  PeerJoined,
  PeerLeft,
  StateChange,
  type MeteredPeer,
  type RemotePeer,
} from '@metered/peer';
import type { RunningServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHoldingWebSocketFactory,
  createOurPeer,
  createVendorPeer,
  type PeerControls,
  createdConnections,
  next,
  nextMessage,
  opened,
  startTestServer,
  waitFor,
  browserLikeWebSockets,
} from './harness.js';

type Channel = RTCDataChannel;

const ours: MeteredPeer[] = [];
const vendors: VendorMeteredPeer[] = [];
const servers: RunningServer[] = [];

afterEach(async () => {
  await Promise.all(ours.splice(0).map((peer) => peer.close()));
  await Promise.all(vendors.splice(0).map((peer) => peer.close()));
  browserLikeWebSockets.terminateAll();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  // Every peer connection either SDK built was closed with its peer.
  expect(createdConnections.splice(0).map((pc) => pc.connectionState)).not.toContain('connected');
});

async function server(): Promise<RunningServer> {
  const running = await startTestServer();
  servers.push(running);
  return running;
}

function ourPeer(url: string, id: string, controls?: PeerControls): MeteredPeer {
  const peer = createOurPeer(url, id, controls);
  ours.push(peer);
  return peer;
}

function vendorPeer(url: string, id: string, controls?: PeerControls): VendorMeteredPeer {
  const peer = createVendorPeer(url, id, controls);
  vendors.push(peer);
  return peer;
}

/** The vendor peer's view of `id`, once presence reported it. */
function vendorSees(peer: VendorMeteredPeer, id: string): Promise<VendorRemotePeer> {
  const known = peer.remotePeers.find((remote) => remote.id === id);
  if (known) return Promise.resolve(known);
  return next(`${id} to join (vendor side)`, (deliver) => {
    const handler = ({ peer: remote }: { peer: VendorRemotePeer }): void => {
      if (remote.id === id) deliver(remote);
    };
    peer.on('peer-joined', handler);
    return () => peer.off('peer-joined', handler);
  });
}

/** Our peer's view of `id`, once presence reported it. */
function oursSees(peer: MeteredPeer, id: string): Promise<RemotePeer> {
  const known = peer.remotePeers.get(id);
  if (known) return Promise.resolve(known);
  return next(`${id} to join (our side)`, (deliver) =>
    peer.on(PeerJoined, ({ peer: remote }) => {
      if (remote.id === id) deliver(remote);
    }),
  );
}

/** Collects the negotiation and candidate errors a vendor remote peer reports. */
function vendorErrors(remote: VendorRemotePeer): unknown[] {
  const errors: unknown[] = [];
  remote.on('negotiation-error', ({ err }) => errors.push(err));
  remote.on('ice-candidate-error', ({ err }) => errors.push(err));
  return errors;
}

/** Collects the negotiation and candidate errors one of our remote peers reports. */
function ourErrors(remote: RemotePeer): unknown[] {
  const errors: unknown[] = [];
  remote.on(NegotiationError, ({ err }) => errors.push(err));
  remote.on(IceCandidateError, ({ err }) => errors.push(err));
  return errors;
}

/** The next channel the remote side opens towards a vendor peer. */
function vendorIncoming(remote: VendorRemotePeer, what: string): Promise<Channel> {
  return next(what, (deliver) => {
    const handler = ({ channel }: { channel: RTCDataChannel }): void => deliver(channel);
    remote.on('data-channel', handler);
    return () => remote.off('data-channel', handler);
  });
}

/** The next channel the remote side opens towards one of our peers. */
function oursIncoming(remote: RemotePeer, what: string): Promise<Channel> {
  return next(what, (deliver) =>
    remote.on(DataChannelOpened, ({ channel }) => deliver(channel as unknown as Channel)),
  );
}

/** Sends one message each way over an open pair of channel ends and checks both arrived. */
async function exchange(a: Channel, b: Channel, label: string): Promise<void> {
  await Promise.all([opened(a, `${label} open at the opener`), opened(b, `${label} open`)]);
  const atB = nextMessage(b, `${label}: message to the answerer`);
  a.send(`${label}: ping`);
  expect(await atB).toBe(`${label}: ping`);
  const atA = nextMessage(a, `${label}: message back`);
  const bytes = new Uint8Array([1, 2, 3, label.length]);
  b.send(bytes);
  expect(new Uint8Array((await atA) as ArrayBuffer)).toEqual(bytes);
}

describe('the vendor MeteredPeer on the Node adapter', () => {
  it('two vendor peers connect through our server and exchange data-channel messages', async () => {
    const running = await server();
    const alice = vendorPeer(running.url, 'alice');
    const bob = vendorPeer(running.url, 'bob');
    const bobAtAlice = vendorSees(alice, 'bob');
    const aliceAtBob = vendorSees(bob, 'alice');
    await alice.join('vendor-room');
    await bob.join('vendor-room');
    const [toBob, toAlice] = await Promise.all([bobAtAlice, aliceAtBob]);
    const errors = [...vendorErrors(toBob), ...vendorErrors(toAlice)];

    // A channel each way: the first negotiates the connection, the second rides on it.
    const atBob = vendorIncoming(toAlice, 'the channel alice opened');
    const fromAlice = toBob.pc.createDataChannel('from-alice');
    await exchange(fromAlice, await atBob, 'from-alice');
    const atAlice = vendorIncoming(toBob, 'the channel bob opened');
    const fromBob = toAlice.pc.createDataChannel('from-bob');
    await exchange(fromBob, await atAlice, 'from-bob');
    expect(toBob.state).toBe('connected');
    expect(toAlice.state).toBe('connected');
    expect(errors).toEqual([]);
  });
});

describe('our MeteredPeer and the vendor MeteredPeer in one room, both on the adapter', () => {
  // Politeness follows the peer ids: the smaller id yields on an offer collision. Both orders.
  for (const [ourId, vendorId] of [
    ['alice', 'bob'],
    ['zoe', 'yan'],
  ] as const) {
    it(`${ourId} (ours) and ${vendorId} (vendor): channels both ways, at once and one after the other, data and a track`, async () => {
      const running = await server();
      const our = ourPeer(running.url, ourId);
      const vendor = vendorPeer(running.url, vendorId);
      const vendorAtOurs = oursSees(our, vendorId);
      const ourAtVendor = vendorSees(vendor, ourId);
      await our.join('mixed-room');
      await vendor.join('mixed-room');
      const [toVendor, toOurs] = await Promise.all([vendorAtOurs, ourAtVendor]);
      const errors = [...ourErrors(toVendor), ...vendorErrors(toOurs)];

      // Both sides open a channel in the same turn: the first offers collide.
      const atVendor = vendorIncoming(toOurs, 'the channel ours opened');
      const atOurs = oursIncoming(toVendor, 'the channel the vendor opened');
      const fromOurs = toVendor.createDataChannel('ours-first') as unknown as Channel;
      const fromVendor = toOurs.pc.createDataChannel('vendor-first');
      await exchange(fromOurs, await atVendor, 'ours-first');
      await exchange(fromVendor, await atOurs, 'vendor-first');

      // One more each way on the live connection.
      const laterAtVendor = vendorIncoming(toOurs, 'a later channel from ours');
      await exchange(
        toVendor.createDataChannel('ours-later') as unknown as Channel,
        await laterAtVendor,
        'ours-later',
      );
      const laterAtOurs = oursIncoming(toVendor, 'a later channel from the vendor');
      await exchange(
        toOurs.pc.createDataChannel('vendor-later'),
        await laterAtOurs,
        'vendor-later',
      );

      // Broadcast and direct data, both ways.
      const atOur: Data[] = [];
      our.on(Data, (event) => atOur.push(event));
      const atVendorData: { senderPeerId: string; data: unknown; kind: string }[] = [];
      vendor.on('data', ({ senderPeerId, data, kind }) =>
        atVendorData.push({ senderPeerId, data, kind }),
      );
      await our.send({ from: 'ours', to: 'room' });
      await our.sendTo(vendorId, 'ours to you');
      await vendor.send({ from: 'vendor', to: 'room' });
      await vendor.sendTo(ourId, 'vendor to you');
      await waitFor(() => atOur.length === 2 && atVendorData.length === 2, 'the data');
      expect(atVendorData).toEqual([
        { senderPeerId: ourId, data: { from: 'ours', to: 'room' }, kind: 'broadcast' },
        { senderPeerId: ourId, data: 'ours to you', kind: 'direct' },
      ]);
      expect(atOur.map(({ senderPeerId, data, kind }) => ({ senderPeerId, data, kind }))).toEqual([
        { senderPeerId: vendorId, data: { from: 'vendor', to: 'room' }, kind: 'broadcast' },
        { senderPeerId: vendorId, data: 'vendor to you', kind: 'direct' },
      ]);

      // A media track from ours renegotiates the connection; its metadata reaches the vendor.
      const track = next<{ track: { id: string }; metadata?: unknown }>(
        'the track at the vendor',
        (deliver) => {
          toOurs.on('track', deliver);
          return () => toOurs.off('track', deliver);
        },
      );
      const mic = new NodeMediaStreamTrack({ kind: 'audio' });
      our.addTrack(mic, new NodeMediaStream([mic]), { role: 'mic' });
      const received = await track;
      expect(received.track.id).toBe(mic.id);
      expect(received.metadata).toEqual({ role: 'mic' });
      expect(toVendor.state).toBe('connected');
      expect(toOurs.state).toBe('connected');
      expect(errors).toEqual([]);
    });
  }
});

describe('our MeteredPeer and the vendor MeteredPeer across a server restart', () => {
  // The vendor replaces its connection on every reconnect of its own, and which side is back
  // first decides how: back first, it finds ours missing from its roster, drops its RemotePeer for
  // ours and makes a new one when ours joins; back second, it keeps that RemotePeer and swaps its
  // connection. Either way it closes the old connection (which closes ours: a Node connection ends
  // with its other side), and its new one waits for an offer. Each order is forced here by holding
  // one side's reconnect back until the other is joined again; the third case also holds back the
  // presence that tells ours the vendor is back until the vendor has closed the old connection.
  const orders = [
    'the vendor is back first',
    'ours is back first',
    'ours is back first and hears of the vendor after its connection closed',
  ] as const;
  for (const order of orders) {
    it(`${order}: ours follows the vendor to a new connection once, and both end connected`, async () => {
      const first = await server();
      const holding = createHoldingWebSocketFactory();
      let oursMayConnect: Promise<void> | undefined;
      let vendorMayConnect: Promise<void> | undefined;
      const our = ourPeer(first.url, 'olga', {
        beforeConnect: async () => oursMayConnect,
        webSocketFactory: holding,
      });
      const vendor = vendorPeer(first.url, 'vera', { beforeConnect: async () => vendorMayConnect });
      const vendorAtOurs = oursSees(our, 'vera');
      const ourAtVendor = vendorSees(vendor, 'olga');
      await our.join('restart-room');
      await vendor.join('restart-room');
      const [toVendor, toOurs] = await Promise.all([vendorAtOurs, ourAtVendor]);
      const before = vendorIncoming(toOurs, 'a channel before the restart');
      await exchange(
        toVendor.createDataChannel('before') as unknown as Channel,
        await before,
        'before',
      );
      // Tracks the vendor receives from ours, on its RemotePeer for ours or on one it makes later.
      const tracksAtVendor: unknown[] = [];
      toOurs.on('track', ({ metadata }) => tracksAtVendor.push(metadata));
      const vendorSaw: string[] = [];
      toOurs.on('connection-reset', () => vendorSaw.push('connection-reset'));
      vendor.on('peer-left', ({ peer: remote }) => vendorSaw.push(`peer-left ${remote.id}`));
      vendor.on('peer-joined', ({ peer: remote }) => {
        vendorSaw.push(`peer-joined ${remote.id}`);
        remote.on('track', ({ metadata }) => tracksAtVendor.push(metadata));
      });
      const mic = new NodeMediaStreamTrack({ kind: 'audio' });
      our.addTrack(mic, new NodeMediaStream([mic]), { role: 'mic' });
      await waitFor(() => toVendor.pc.connectionState === 'connected', 'connected before');
      await waitFor(() => tracksAtVendor.length === 1, 'the track before the restart');
      const resets: ConnectionReset[] = [];
      toVendor.on(ConnectionReset, (event) => resets.push(event));
      const left: PeerLeft[] = [];
      our.on(PeerLeft, (event) => left.push(event));
      const errors = ourErrors(toVendor);

      const oldConnection = toVendor.pc as unknown as RTCPeerConnection;
      if (order === 'the vendor is back first') {
        oursMayConnect = next<undefined>('the vendor joined again', (deliver) => {
          const handler = ({ to }: { to: string }): void => {
            if (to === 'joined') deliver(undefined);
          };
          vendor.on('state-change', handler);
          return () => vendor.off('state-change', handler);
        });
      } else {
        vendorMayConnect = next<undefined>('ours joined again', (deliver) =>
          our.on(StateChange, ({ to }) => {
            if (to === 'joined') deliver(undefined);
          }),
        );
      }
      if (order === 'ours is back first and hears of the vendor after its connection closed') {
        const closed = next('the old connection closed', (deliver) => {
          const listener = (): void => {
            if (oldConnection.connectionState === 'closed') deliver(undefined);
          };
          oldConnection.addEventListener('connectionstatechange', listener);
          return () => oldConnection.removeEventListener('connectionstatechange', listener);
        });
        holding.holdFrom(presenceJoining('vera'), closed);
      }

      await first.close();
      servers.splice(servers.indexOf(first), 1);
      const second = await startTestServer(first.port);
      servers.push(second);

      await waitFor(() => our.state === 'joined', 'ours joined again');
      await waitFor(() => vendor.state === 'joined', 'the vendor joined again');
      const toOursNow = await vendorSees(vendor, 'olga');
      await waitFor(
        () =>
          toVendor.pc.connectionState === 'connected' &&
          toOursNow.pc.connectionState === 'connected',
        'both connected on the new connection',
      );
      await waitFor(() => tracksAtVendor.length === 2, 'the track on the new connection');
      expect(tracksAtVendor).toEqual([{ role: 'mic' }, { role: 'mic' }]);
      // Ours kept its RemotePeer and rebuilt its connection once, on the vendor's close.
      expect(our.remotePeers.get('vera')).toBe(toVendor);
      expect(toVendor.pc).not.toBe(oldConnection);
      expect(resets).toHaveLength(1);
      expect(left).toEqual([]);
      expect(errors).toEqual([]);
      // The presence was held back only in the third case.
      expect(holding.holds).toBe(order === orders[2] ? 1 : 0);
      if (order === 'the vendor is back first') {
        expect(toOursNow).not.toBe(toOurs);
        expect(vendorSaw).toEqual(['peer-left olga', 'peer-joined olga']);
      } else {
        expect(toOursNow).toBe(toOurs);
        expect(vendorSaw).toEqual(['connection-reset']);
      }
    });
  }
});

/** Matches a presence frame that reports `peerId` joining. */
function presenceJoining(peerId: string): (frame: string) => boolean {
  return (frame) => {
    const parsed = JSON.parse(frame) as { type?: string; joined?: { peerId?: string }[] };
    return parsed.type === 'presence' && (parsed.joined ?? []).some((p) => p.peerId === peerId);
  };
}
