import {
  startServer,
  signToken,
  type RunningServer,
  type StartServerOptions,
} from '@metered/server';
import {
  type EventClass,
  type SignallingClientOptions,
  SignallingClient,
  type SignallingEvent,
} from '@metered/signalling';

export const PUBLISHABLE_KEY = 'pk_live_integration';
export const SECRET_KEY = { id: 'sk_id_integration', secret: 'sk_secret_integration' };
const ACTIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

const servers: RunningServer[] = [];
const clients: { close(): Promise<void> | void }[] = [];

/** Closes every client and server the test started. */
export async function cleanUp(): Promise<void> {
  for (const client of clients.splice(0)) {
    try {
      await client.close();
    } catch {
      // already closed
    }
  }
  await Promise.all(servers.splice(0).map((server) => server.close()));
}

/** Keeps a client to close after the test. */
export function track<T extends { close(): Promise<void> | void }>(client: T): T {
  clients.push(client);
  return client;
}

/** The real server on 127.0.0.1 (port 0 unless given), one app accepting every channel. */
export async function start(options: StartServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 2_000,
    apps: [
      {
        id: 'integration',
        publishableKeys: [{ key: PUBLISHABLE_KEY, channelPatterns: ['**'], actions: [...ACTIONS] }],
        secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'], actions: [...ACTIONS] }],
      },
    ],
    ...options,
  });
  servers.push(server);
  return server;
}

/** Forgets a server the test closed itself. */
export function untrack(server: RunningServer): void {
  servers.splice(servers.indexOf(server), 1);
}

/** A JWT for `peerId`, valid for an hour. */
export function mintToken(peerId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    { ...SECRET_KEY, channelPatterns: ['**'], actions: [...ACTIONS] },
    {
      peerId,
      channels: ['**'],
      permissions: [...ACTIONS],
      issuedAt: now,
      expiresAt: now + 3600,
    },
  );
}

/** Our client against `server`, with a fast jitter-free backoff, on the default Node socket. */
export function client(
  server: RunningServer,
  options: Partial<SignallingClientOptions> = {},
): SignallingClient {
  return track(
    new SignallingClient({
      url: server.url,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, jitterRatio: 0 },
      ...(options.tokenProvider ? {} : { apiKey: PUBLISHABLE_KEY }),
      ...options,
    }),
  );
}

/** Resolves with the first event of a class that matches. */
export function next<T extends SignallingEvent>(
  source: SignallingClient,
  type: EventClass<T>,
  predicate: (event: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const off = source.on(type, (event) => {
      if (!predicate(event)) return;
      off();
      resolve(event);
    });
  });
}
