import { afterEach, describe, expect, it } from 'vitest';
import { MeteredPeer } from '../index.js';
import { createFakePeerConnectionFactory, FakeRoom } from './index.js';

const peers: MeteredPeer[] = [];

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
});

function peerOn(room: FakeRoom, peerId: string): MeteredPeer {
  const peer = new MeteredPeer({
    apiKey: 'pk_test',
    webSocketFactory: room.factory(peerId),
    rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
  });
  peers.push(peer);
  return peer;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('FakeRoom', () => {
  it('welcomes each peer under its id, hands out the roster and announces joins', async () => {
    const room = new FakeRoom();
    const alice = peerOn(room, 'alice');
    const bob = peerOn(room, 'bob');
    await alice.join('room-1');
    await bob.join('room-1');
    await until(() => alice.remotePeers.has('bob'));
    expect([...alice.remotePeers.keys()]).toEqual(['bob']);
    expect([...bob.remotePeers.keys()]).toEqual(['alice']);
    expect(room.framesOf('alice', 'subscribe')).toEqual([
      expect.objectContaining({ type: 'subscribe', channel: 'room-1' }),
    ]);
  });

  it('drops a peer: the others see it leave, and it reconnects under the same id', async () => {
    const room = new FakeRoom();
    const alice = peerOn(room, 'alice');
    const bob = peerOn(room, 'bob');
    await alice.join('room-1');
    await bob.join('room-1');
    await until(() => alice.remotePeers.has('bob'));
    room.drop('bob', 1006);
    expect(room.isConnected('bob')).toBe(false);
    await until(() => !alice.remotePeers.has('bob'));
    await until(() => room.isConnected('bob') && room.framesOf('bob', 'subscribe').length === 2);
    expect(room.sockets.get('bob')).toHaveLength(2);
    await until(() => alice.remotePeers.has('bob'));
  });

  it('relays directs to their target and answers peer_not_found for an offline one', async () => {
    const room = new FakeRoom();
    const alice = peerOn(room, 'alice');
    const bob = peerOn(room, 'bob');
    await alice.join('room-1');
    await bob.join('room-1');
    await until(() => alice.remotePeers.has('bob'));
    await alice.sendTo('bob', { hello: 1 });
    expect(room.directs('alice', 'bob')).toEqual([{ hello: 1 }]);
    await expect(alice.sendTo('carol', 'x')).rejects.toMatchObject({ code: 'peer_not_found' });
  });
});
