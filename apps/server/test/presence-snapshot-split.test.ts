import { MAX_SERVER_FRAME_LENGTH, PROTOCOL_LIMITS } from '@metered/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../src/index.js';
import { signTestToken, startTestServer, testApp, TestClient } from './helpers.js';

const MEMBERS = 260;

/** 4 KiB of peer metadata once serialised, the most a token may carry. */
const PEER_METADATA = { pad: 'x'.repeat(PROTOCOL_LIMITS.maxPeerMetadataBytes - 10) };

const members: WebSocket[] = [];

afterEach(() => {
  for (const member of members.splice(0)) member.terminate();
});

/** A member on `channel` with 4 KiB of peer metadata: a bare socket that reads nothing it gets. */
async function addMember(server: RunningServer, peerId: string, channel: string): Promise<void> {
  const token = await signTestToken({ sub: peerId, claims: { peerMetadata: PEER_METADATA } });
  const socket = new WebSocket(`${server.url}/v1?token=${token}`);
  members.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as { type: string; requestId?: string };
      if (frame.type === 'welcome') {
        socket.send(JSON.stringify({ type: 'subscribe', channel, requestId: 'join' }));
      } else if (frame.requestId === 'join') {
        if (frame.type === 'ack') resolve();
        else reject(new Error(`subscribe refused: ${JSON.stringify(frame)}`));
      }
    });
    socket.once('close', (code) => reject(new Error(`member closed with ${code}`)));
  });
}

describe('a presence snapshot larger than the 1 MiB a client accepts', () => {
  it('arrives as several presence frames, each under the cap, whose union is the roster', async () => {
    const server = await startTestServer({
      apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 1_000 } })],
      connections: { maxPerAddress: 1_000, maxPendingUpgradesPerAddress: 1_000 },
    });
    const peerIds = Array.from({ length: MEMBERS }, (_, index) => `member-${index}`);
    for (let index = 0; index < MEMBERS; index += 10) {
      await Promise.all(
        peerIds.slice(index, index + 10).map((peerId) => addMember(server, peerId, 'crowded')),
      );
    }

    // `ws` closes with 1009 on a frame over `maxPayload`, as every protocol v1 client does.
    const token = await signTestToken({ sub: 'newcomer' });
    const newcomer = new TestClient(`${server.url}/v1?token=${token}`, {
      maxPayload: MAX_SERVER_FRAME_LENGTH,
    });
    await newcomer.welcome();
    const sizes: number[] = [];
    newcomer.socket.on('message', (data: Buffer) => sizes.push(data.byteLength));
    expect(await newcomer.request({ type: 'subscribe', channel: 'crowded' })).toMatchObject({
      type: 'ack',
    });
    await newcomer.sync();

    const afterAck = newcomer.frames.slice(newcomer.frames.findIndex((f) => f.type === 'ack') + 1);
    const snapshot = afterAck.slice(
      0,
      afterAck.findIndex((frame) => frame.type !== 'presence'),
    );
    // Nothing of the channel comes between the frames: the pong follows the last one.
    expect(afterAck[snapshot.length]).toEqual({ type: 'pong' });
    expect(snapshot.length).toBeGreaterThan(1);
    for (const frame of snapshot) {
      expect(frame).toMatchObject({ type: 'presence', channel: 'crowded', left: [] });
      expect(frame.joined.length).toBeGreaterThan(0);
    }
    const roster = snapshot.flatMap((frame) => frame.joined as { peerId: string }[]);
    expect(roster.map((member) => member.peerId).sort()).toEqual([...peerIds].sort());
    expect(roster.find((member) => member.peerId === 'member-0')).toEqual({
      peerId: 'member-0',
      metadata: PEER_METADATA,
    });
    // Every frame the newcomer got stayed within the cap (its socket is still open).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_SERVER_FRAME_LENGTH);
    expect(newcomer.socket.readyState).toBe(WebSocket.OPEN);
  });
});
