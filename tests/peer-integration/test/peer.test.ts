import { createHash, randomBytes } from 'node:crypto';
import { DataChannel, DCMessage } from '@metered/datachannel';
import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
} from '@metered/node-webrtc-adapter';
import {
  ConnectionReset,
  Data,
  DataChannelOpened,
  Track,
  type MeteredPeer,
  type RemotePeer,
} from '@metered/peer';
import type { RunningServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodePeer, joinMesh, record, startCallServer, waitFor } from './harness.js';

const peers: MeteredPeer[] = [];
const servers: RunningServer[] = [];
const channels: DataChannel[] = [];
const intervals: ReturnType<typeof setInterval>[] = [];

afterEach(async () => {
  for (const interval of intervals.splice(0)) clearInterval(interval);
  for (const channel of channels.splice(0)) channel.close();
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(port = 0): Promise<RunningServer> {
  const running = await startCallServer(port);
  servers.push(running);
  return running;
}

function peer(url: string, id: string): MeteredPeer {
  const created = createNodePeer(url, id);
  peers.push(created);
  return created;
}

function remote(local: MeteredPeer, id: string): RemotePeer {
  const found = local.remotePeers.get(id);
  if (!found) throw new Error(`${local.peerId} does not know ${id}`);
  return found;
}

function wrap(channel: ConstructorParameters<typeof DataChannel>[0]): DataChannel {
  const wrapped = new DataChannel(channel);
  channels.push(wrapped);
  return wrapped;
}

/** Opens a data channel from `from` to `to` and resolves with both ends once a message crossed. */
async function openChannel(
  from: MeteredPeer,
  to: MeteredPeer,
  label: string,
): Promise<{ sender: DataChannel; receiver: DataChannel }> {
  const fromId = from.peerId as string;
  const toId = to.peerId as string;
  const incoming = new Promise<DataChannel>((resolve) => {
    const off = remote(to, fromId).on(DataChannelOpened, ({ channel }) => {
      off();
      resolve(wrap(channel));
    });
  });
  const sender = wrap(remote(from, toId).createDataChannel(label));
  const receiver = await incoming;
  const first = new Promise<unknown>((resolve) =>
    receiver.once(DCMessage, ({ data }) => resolve(data)),
  );
  await sender.send(`hello over ${label}`);
  expect(await first).toBe(`hello over ${label}`);
  return { sender, receiver };
}

function toBytes(data: string | ArrayBuffer): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
}

describe('MeteredPeer on Node through the real server', () => {
  it('two peers: broadcast, direct, a file over a data channel, and a media track', async () => {
    const running = await server();
    const alice = peer(running.url, 'alice');
    const bob = peer(running.url, 'bob');
    await joinMesh([alice, bob], 'room-two');

    // Broadcast and direct.
    const atBob = record(bob, Data);
    const atAlice = record(alice, Data);
    await alice.send({ hello: 'room' });
    await bob.sendTo('alice', 'just you');
    await waitFor(() => atBob.length === 1 && atAlice.length === 1, 'data');
    expect(atBob[0]).toMatchObject({
      senderPeerId: 'alice',
      data: { hello: 'room' },
      kind: 'broadcast',
    });
    expect(atAlice[0]).toMatchObject({ senderPeerId: 'bob', data: 'just you', kind: 'direct' });

    // A file over a data channel, checked end to end.
    const { sender, receiver } = await openChannel(alice, bob, 'file');
    const file = randomBytes(10 * 1024 * 1024);
    const expected = createHash('sha256').update(file).digest('hex');
    const hash = createHash('sha256');
    let receivedBytes = 0;
    const done = new Promise<{ sha256: string; size: number }>((resolve) => {
      receiver.on(DCMessage, ({ data }) => {
        if (typeof data === 'string') {
          resolve(JSON.parse(data) as { sha256: string; size: number });
          return;
        }
        const bytes = toBytes(data);
        receivedBytes += bytes.byteLength;
        hash.update(bytes);
      });
    });
    const chunk = 16 * 1024;
    for (let offset = 0; offset < file.byteLength; offset += chunk) {
      await sender.send(file.subarray(offset, offset + chunk));
    }
    await sender.send(JSON.stringify({ sha256: expected, size: file.byteLength }));
    const trailer = await done;
    expect(trailer.size).toBe(file.byteLength);
    expect(receivedBytes).toBe(file.byteLength);
    expect(hash.digest('hex')).toBe(trailer.sha256);

    // A media track whose packets arrive, with its metadata.
    const tracks = record(remote(bob, 'alice'), Track);
    const mic = new NodeMediaStreamTrack({ kind: 'audio' });
    alice.addTrack(mic, new NodeMediaStream([mic]), { role: 'mic' });
    await waitFor(() => tracks.length === 1, 'remote track');
    expect(tracks[0]?.metadata).toEqual({ role: 'mic' });
    const received = tracks[0]?.track as unknown as NodeMediaStreamTrack;
    let packets = 0;
    received.addEventListener('rtp', () => {
      packets += 1;
    });
    let sequenceNumber = 0;
    intervals.push(
      setInterval(() => {
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
      }, 10),
    );
    await waitFor(() => packets >= 20, 'RTP packets at the receiver');
  });

  it('five peers: a full mesh exchanging broadcast, direct and data-channel messages', async () => {
    const running = await server();
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const mesh = ids.map((id) => peer(running.url, id));
    await joinMesh(mesh, 'room-five');
    const received = mesh.map((member) => record(member, Data));
    for (const member of mesh) await member.send(`broadcast from ${member.peerId}`);
    for (const [index, member] of mesh.entries()) {
      await member.sendTo(ids[(index + 1) % ids.length] as string, `direct from ${member.peerId}`);
    }
    await waitFor(() => received.every((list) => list.length === 5), 'broadcasts and directs');
    for (const [index, list] of received.entries()) {
      expect(list.filter((event) => event.kind === 'broadcast')).toHaveLength(4);
      expect(list.filter((event) => event.kind === 'direct').map((event) => event.data)).toEqual([
        `direct from ${ids[(index + ids.length - 1) % ids.length]}`,
      ]);
    }
    // A data channel from the first peer to each of the others.
    const [first, ...others] = mesh as [MeteredPeer, ...MeteredPeer[]];
    for (const other of others) await openChannel(first, other, `to-${other.peerId}`);
  });

  it('the server restarts mid-session: every pair keeps its RemotePeer and its connection, and exchanges data again', async () => {
    const first = await server();
    const port = first.port;
    const ids = ['r1', 'r2', 'r3'];
    const mesh = ids.map((id) => peer(first.url, id));
    await joinMesh(mesh, 'room-restart');
    const [a, b] = mesh as [MeteredPeer, MeteredPeer, MeteredPeer];
    const { sender, receiver } = await openChannel(a, b, 'before');
    const resets: string[] = [];
    const originals = new Map<string, RemotePeer>();
    for (const member of mesh) {
      for (const [id, other] of member.remotePeers) {
        originals.set(`${member.peerId}->${id}`, other);
        other.on(ConnectionReset, () => resets.push(`${member.peerId}->${id}`));
      }
    }

    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const second = await server(port);
    expect(second.port).toBe(port);

    await waitFor(
      () => mesh.every((member) => member.state === 'joined' && member.remotePeers.size === 2),
      'every peer joined again with both others',
    );
    for (const member of mesh) {
      for (const [id, other] of member.remotePeers) {
        expect(other).toBe(originals.get(`${member.peerId}->${id}`));
      }
    }
    expect(resets).toEqual([]);
    const received = mesh.map((member) => record(member, Data));
    for (const member of mesh) await member.send(`after restart from ${member.peerId}`);
    await waitFor(() => received.every((list) => list.length === 2), 'broadcasts after restart');
    await b.sendTo(a.peerId as string, 'direct after restart');
    await waitFor(() => received[0]?.some((event) => event.kind === 'direct') === true, 'direct');
    // The data channel opened before the restart still carries messages.
    const next = new Promise<unknown>((resolve) =>
      receiver.once(DCMessage, ({ data }) => resolve(data)),
    );
    await sender.send('still open');
    expect(await next).toBe('still open');
  });
});
