import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { DEFAULT_CONFIG, startServer, type RunningServer } from '@metered/server';

/** The server a reader starts with `npx metered-server`, on a free port. */
export function startDevServer(): Promise<RunningServer> {
  return startServer({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 1_000,
    shutdownRetryAfterMs: 100,
  });
}

/** A Node peer in the room, standing in for another member. */
export function nodePeer(url: string): MeteredPeer {
  return new MeteredPeer({
    url,
    apiKey: 'pk_live_dev',
    rtcPeerConnectionFactory,
  });
}

/** Resolves when `condition()` holds; rejects after `timeoutMs`. */
export function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (condition()) return resolve();
    const started = Date.now();
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, 10);
  });
}
