import { signToken, startServer, type RunningServer } from '@metered/server';

// The real server for suites that run calls across signalling events: one app, a secret key
// with every channel, tokens for fixed peer ids, and a fast drain for restarts.

const SECRET_KEY = { id: 'sk_calls', secret: 'calls-secret' };
const ACTIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

/** The real server on 127.0.0.1 (port 0 = any free port), draining fast for restarts. */
export function startCallServer(port = 0): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
    apps: [
      {
        id: 'calls',
        secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'] }],
        limits: { messagesPerSecond: 2_000, messageBurst: 4_000 },
      },
    ],
  });
}

/** A token of {@link startCallServer}'s app for a fixed peer id, so that the id survives reconnects. */
export function mintCallToken(peerId: string, lifetimeSec = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    { ...SECRET_KEY, channelPatterns: ['**'], actions: [...ACTIONS] },
    {
      peerId,
      channels: ['**'],
      permissions: [...ACTIONS],
      issuedAt: now,
      expiresAt: now + lifetimeSec,
    },
  );
}
