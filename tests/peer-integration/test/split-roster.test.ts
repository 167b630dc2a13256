import { ConnectionReset, METERED_PEER_DEFAULTS, PeerLeft, type MeteredPeer } from '@metered/peer';
import { createFakePeerConnectionFactory } from '@metered/peer/testing';
import { signToken, startServer } from '@metered/server';
import { SignallingClient } from '@metered/signalling';
import { FaultProxy } from '@metered/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodePeer, record, waitFor } from './harness.js';

const SECRET_KEY = { id: 'sk_split_roster', secret: 'split-roster-secret' };
const PERMISSIONS = ['subscribe', 'publish', 'presence', 'send'] as const;
const MEMBERS = 250;
/** 4 KiB of peer metadata once serialised, the most a token may carry. */
const PEER_METADATA = { pad: 'x'.repeat(4_086) };
/** Peer ids of 100 characters: with the metadata, the roster is over 1 MiB (about 1.06 MB). */
const memberId = (index: number): string => `member-${String(index).padStart(93, '0')}`;

const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function token(peerId: string, peerMetadata?: Record<string, string>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    { ...SECRET_KEY, channelPatterns: ['**'], actions: [...PERMISSIONS] },
    {
      peerId,
      channels: ['**'],
      permissions: [...PERMISSIONS],
      issuedAt: now,
      expiresAt: now + 3600,
      ...(peerMetadata !== undefined && { peerMetadata }),
    },
  );
}

describe('a roster larger than the 1 MiB frame cap, split by the server', () => {
  it('MeteredPeer sees every member after joining, and keeps them all across a reconnect', async () => {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      drainTimeoutMs: 1_000,
      shutdownRetryAfterMs: 100,
      apps: [
        {
          id: 'split-roster',
          secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'] }],
          limits: { connectAttemptsPerIpPerMinute: 1_000 },
        },
      ],
    });
    closers.push(() => server.close());
    for (let index = 0; index < MEMBERS; index += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, MEMBERS - index) }, async (_, offset) => {
          const peerId = memberId(index + offset);
          const member = new SignallingClient({
            url: server.url,
            tokenProvider: () => token(peerId, PEER_METADATA),
          });
          closers.push(() => member.close());
          await member.connect();
          await member.subscribe('crowded');
        }),
      );
    }

    const proxy = await FaultProxy.start(server.port);
    closers.push(() => proxy.close());
    const observer: MeteredPeer = createNodePeer(proxy.url, 'observer', {
      tokenProvider: () => token('observer'),
      rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
    });
    closers.push(() => observer.close());
    const left = record(observer, PeerLeft);
    await observer.join('crowded');
    await waitFor(() => observer.remotePeers.size === MEMBERS, 'every member after the join');
    const before = new Map(observer.remotePeers);
    let resets = 0;
    for (const remote of before.values()) {
      expect(remote.metadata).toEqual(PEER_METADATA);
      remote.on(ConnectionReset, () => resets++);
    }

    proxy.dropAll();
    await waitFor(() => observer.state === 'reconnecting', 'the drop');
    await waitFor(() => observer.state === 'joined', 'joined again');
    // A member no frame of the roster named would be held until the 10 s deadline, then leave:
    // past it, every member is still there with its RemotePeer (and, nothing negotiated with
    // these members, its connection: no ConnectionReset).
    await new Promise((resolve) =>
      setTimeout(resolve, METERED_PEER_DEFAULTS.reconcileTimeoutMs + 1_000),
    );
    expect(observer.remotePeers.size).toBe(MEMBERS);
    for (const [peerId, remote] of before) expect(observer.remotePeers.get(peerId)).toBe(remote);
    expect(resets).toBe(0);
    expect(left).toEqual([]);
  });
});
