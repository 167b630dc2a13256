import { DataChannel, DCMessage } from '@metered/datachannel';
import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
} from '@metered/node-webrtc-adapter';
import {
  ConnectionReset,
  DataChannelOpened,
  PeerLeft,
  Track,
  type MeteredPeer,
  type RemotePeer,
} from '@metered/peer';
import type { RunningServer } from '@metered/server';
import { FaultProxy } from '@metered/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodePeer, joinMesh, record, startCallServer, waitFor } from './harness.js';

// A call is peer to peer: its media and data do not pass through the server. Two Node peers
// stream numbered data-channel messages (every 20 ms) and RTP (every 10 ms) while their
// signalling goes through what ends a WebSocket: the server restarting, tokens expiring, one
// side's link cut. The call must not notice: same RTCPeerConnection, no ConnectionReset, no
// PeerLeft, every message delivered once and in order, RTP still arriving.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(port = 0): Promise<RunningServer> {
  const running = await startCallServer(port);
  cleanups.push(() => running.close());
  return running;
}

function peer(url: string, id: string, tokenLifetimeSec?: number): MeteredPeer {
  const created = createNodePeer(url, id, {}, tokenLifetimeSec);
  cleanups.push(() => created.close());
  return created;
}

function remote(local: MeteredPeer, id: string): RemotePeer {
  const found = local.remotePeers.get(id);
  if (!found) throw new Error(`${local.peerId} does not know ${id}`);
  return found;
}

interface Call {
  readonly pcs: readonly unknown[];
  readonly resets: readonly ConnectionReset[][];
  readonly left: readonly PeerLeft[][];
  /** The `n`s the receiving end got, in order. */
  readonly received: number[];
  readonly sent: () => number;
  readonly failedSends: () => number;
  readonly packets: () => number;
  /** Stops the streams; resolves once the receiver has everything sent. */
  stop(): Promise<void>;
}

/** a opens a data channel and a microphone track to b and streams over both. */
async function startCall(a: MeteredPeer, b: MeteredPeer): Promise<Call> {
  const toB = remote(a, b.peerId as string);
  const toA = remote(b, a.peerId as string);
  const incoming = new Promise<DataChannel>((resolve) => {
    const off = toA.on(DataChannelOpened, ({ channel }) => {
      off();
      resolve(new DataChannel(channel));
    });
  });
  const sender = new DataChannel(toB.createDataChannel('numbers'));
  const receiver = await incoming;
  cleanups.push(() => {
    sender.close();
    receiver.close();
  });
  const received: number[] = [];
  receiver.on(DCMessage, ({ data }) => received.push(Number(data)));

  const tracks = record(toA, Track);
  const mic = new NodeMediaStreamTrack({ kind: 'audio' });
  a.addTrack(mic, new NodeMediaStream([mic]), { role: 'mic' });
  await waitFor(() => tracks.length === 1, 'the remote track');
  let packets = 0;
  (tracks[0]?.track as unknown as NodeMediaStreamTrack).addEventListener('rtp', () => {
    packets += 1;
  });
  await waitFor(() => toB.pc.connectionState === 'connected', 'connected');

  let sent = 0;
  let failedSends = 0;
  let sequenceNumber = 0;
  const numbers = setInterval(() => {
    sender.send(String(sent++)).catch(() => failedSends++);
  }, 20);
  const rtp = setInterval(() => {
    sequenceNumber += 1;
    mic.writeRtp(
      createRtpPacket({
        payloadType: 111,
        sequenceNumber,
        timestamp: sequenceNumber * 960,
        ssrc: 4242,
        payload: new Uint8Array(80).fill(sequenceNumber & 0xff),
      }),
    );
  }, 10);
  cleanups.push(() => {
    clearInterval(numbers);
    clearInterval(rtp);
  });
  await waitFor(() => received.length > 5 && packets > 5, 'the streams flowing');
  return {
    pcs: [toB.pc, toA.pc],
    resets: [record(toB, ConnectionReset), record(toA, ConnectionReset)],
    left: [record(a, PeerLeft), record(b, PeerLeft)],
    received,
    sent: () => sent,
    failedSends: () => failedSends,
    packets: () => packets,
    async stop() {
      clearInterval(numbers);
      clearInterval(rtp);
      await waitFor(() => received.length >= sent, 'every message sent to arrive', 10_000);
    },
  };
}

/** The call went through untouched. */
async function expectUntouched(call: Call, a: MeteredPeer, b: MeteredPeer): Promise<void> {
  const packetsBefore = call.packets();
  await waitFor(() => call.packets() > packetsBefore + 20, 'RTP still arriving');
  await call.stop();
  expect(call.failedSends(), 'data-channel sends that failed').toBe(0);
  expect([remote(a, b.peerId as string).pc, remote(b, a.peerId as string).pc]).toEqual(call.pcs);
  expect(call.resets.map((list) => list.length)).toEqual([0, 0]);
  expect(call.left.map((list) => list.length)).toEqual([0, 0]);
  const expected = Array.from({ length: call.sent() }, (_, n) => n);
  expect(call.received).toEqual(expected);
}

describe('a call between two Node peers survives its signalling', () => {
  it('the server restarts mid-call', async () => {
    const first = await server();
    const a = peer(first.url, 'call-a');
    const b = peer(first.url, 'call-b');
    await joinMesh([a, b], 'room-call');
    const call = await startCall(a, b);

    await first.close();
    const second = await server(first.port);
    await waitFor(() => a.state === 'joined' && b.state === 'joined', 'both joined again');
    // Past the hold of members reported gone: nobody leaves later either.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(second.port).toBe(first.port);
    await expectUntouched(call, a, b);
  });

  it('a run of 3-second tokens', async () => {
    const running = await server();
    const a = peer(running.url, 'token-a', 3);
    const b = peer(running.url, 'token-b', 3);
    await joinMesh([a, b], 'room-tokens');
    const call = await startCall(a, b);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await waitFor(() => a.state === 'joined' && b.state === 'joined', 'both joined');
    await expectUntouched(call, a, b);
  });

  it("one side's link is cut for a moment", async () => {
    const running = await server();
    const link = await FaultProxy.start(running.port);
    cleanups.push(() => link.close());
    const a = peer(link.url, 'blip-a');
    const b = peer(running.url, 'blip-b');
    await joinMesh([a, b], 'room-blip');
    const call = await startCall(a, b);
    link.dropAll();
    await waitFor(() => a.state === 'reconnecting', 'a reconnecting');
    await waitFor(() => a.state === 'joined', 'a joined again');
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    await expectUntouched(call, a, b);
  });

  it('a connection that fails for good is rebuilt and carries data again', async () => {
    const running = await server();
    const a = peer(running.url, 'dead-a');
    const b = peer(running.url, 'dead-b');
    await joinMesh([a, b], 'room-dead');
    const toB = remote(a, 'dead-b');
    const toA = remote(b, 'dead-a');
    const resets = [record(toB, ConnectionReset), record(toA, ConnectionReset)];
    const opened = record(toA, DataChannelOpened);
    // The app's usual reaction to ConnectionReset: open its data channel on the new connection.
    const open = (): DataChannel => {
      const channel = new DataChannel(toB.createDataChannel('numbers'));
      cleanups.push(() => channel.close());
      return channel;
    };
    let sender = open();
    toB.on(ConnectionReset, () => {
      sender = open();
    });
    await waitFor(() => opened.length === 1, 'the first channel');
    const dead = toB.pc;
    // The connection dies as a Node connection does on failure: it closes itself and reports it.
    dead.close();
    dead.onconnectionstatechange?.(new Event('connectionstatechange'));
    await waitFor(() => resets[0]?.length === 1, 'a new connection on the failed side');
    await waitFor(() => resets[1]?.length === 1, 'the other side following');
    await waitFor(() => opened.length === 2, 'the data channel on the new connection');
    const receiver = new DataChannel((opened[1] as DataChannelOpened).channel);
    cleanups.push(() => receiver.close());
    const next = new Promise<unknown>((resolve) =>
      receiver.once(DCMessage, ({ data }) => resolve(data)),
    );
    await sender.send('after the rebuild');
    expect(await next).toBe('after the rebuild');
    expect(toB.pc).not.toBe(dead);
    expect(toB.pc.connectionState).toBe('connected');
  });
});
