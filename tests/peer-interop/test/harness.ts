import {
  MeteredPeer as VendorMeteredPeer,
  type RTCPeerConnectionLike as VendorPeerConnectionLike,
} from '@metered-ca/realtime';
import {
  rtcPeerConnectionFactory,
  type NodeRTCConfiguration,
  type RTCPeerConnection,
} from '@metered/node-webrtc-adapter';
import { MeteredPeer } from '@metered/peer';
import { signToken, startServer, type RunningServer } from '@metered/server';
import type { WebSocketFactory, WebSocketLike } from '@metered/signalling';
import { createBrowserLikeWebSocketFactory } from '@metered/signalling/testing';
import WebSocket from 'ws';

const SECRET_KEY = { id: 'sk_peer_interop', secret: 'peer-interop-secret' };
const ACTIONS = ['subscribe', 'publish', 'presence', 'send'] as const;

/** Starts the real server on 127.0.0.1 (port 0 = any free port). */
export function startTestServer(port = 0): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port,
    drainTimeoutMs: 1_000,
    apps: [
      {
        id: 'peer-interop',
        secretKeys: [{ ...SECRET_KEY, channelPatterns: ['**'] }],
        limits: { messagesPerSecond: 2_000, messageBurst: 4_000 },
      },
    ],
  });
}

/** A token whose subject is `peerId`. */
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

/** Every peer connection the factories below built, to check they were all closed. */
export const createdConnections: RTCPeerConnection[] = [];

/** The adapter's factory, gathering on loopback only: what both SDKs get as `rtcPeerConnectionFactory`. */
export function loopbackFactory(configuration: NodeRTCConfiguration = {}): RTCPeerConnection {
  const pc = rtcPeerConnectionFactory({ ...configuration, bindAddress: '127.0.0.1' });
  createdConnections.push(pc);
  return pc;
}

/** How a test steers a peer's reconnects. */
export interface PeerControls {
  /** Awaited before each token: holds a connect back until the test lets it go. */
  readonly beforeConnect?: () => Promise<void>;
  readonly webSocketFactory?: WebSocketFactory;
}

/** Our MeteredPeer on the adapter. */
export function createOurPeer(
  url: string,
  peerId: string,
  controls: PeerControls = {},
): MeteredPeer {
  return new MeteredPeer({
    url,
    tokenProvider: async () => {
      await controls.beforeConnect?.();
      return mintToken(peerId);
    },
    rtcPeerConnectionFactory: loopbackFactory,
    webSocketFactory: controls.webSocketFactory,
  });
}

/** See {@link createHoldingWebSocketFactory}. */
export type HoldingWebSocketFactory = WebSocketFactory & {
  holdFrom(match: (frame: string) => boolean, until: Promise<unknown>): void;
  /** How many holds took effect (a frame matched). */
  readonly holds: number;
};

/**
 * `ws` sockets whose inbound frames a test can hold back: `holdFrom(match, until)` delays the
 * first frame that `match`es, and every frame after it, until `until` settles, then delivers
 * them in order. For forcing one interleaving of signalling and peer-connection events.
 */
export function createHoldingWebSocketFactory(): HoldingWebSocketFactory {
  let holds = 0;
  let rule: { match: (frame: string) => boolean; until: Promise<unknown> } | undefined;
  const factory = (url: string): WebSocketLike => {
    const socket = new WebSocket(url);
    let held: (() => void)[] | undefined;
    const deliver = (dispatch: () => void, frame?: string): void => {
      if (held) {
        held.push(dispatch);
        return;
      }
      const current = rule;
      if (current && frame !== undefined && current.match(frame)) {
        rule = undefined;
        holds++;
        const queue: (() => void)[] = [dispatch];
        held = queue;
        const flush = (): void => {
          held = undefined;
          for (const next of queue) next();
        };
        void current.until.then(flush, flush);
        return;
      }
      dispatch();
    };
    const wrapper: WebSocketLike = {
      get readyState() {
        return socket.readyState;
      },
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
      send: (data) => socket.send(data),
      close: (code, reason) => socket.close(code, reason),
    };
    socket.onopen = (event) => wrapper.onopen?.(event);
    socket.onerror = (event) => wrapper.onerror?.(event);
    // The server sends text frames only; `ws` hands them over as strings.
    socket.onmessage = ({ data }) =>
      deliver(() => wrapper.onmessage?.({ data }), typeof data === 'string' ? data : undefined);
    socket.onclose = ({ code, reason }) => deliver(() => wrapper.onclose?.({ code, reason }));
    return wrapper;
  };
  return Object.defineProperties(factory, {
    holdFrom: {
      value: (match: (frame: string) => boolean, until: Promise<unknown>): void => {
        rule = { match, until };
      },
    },
    holds: { get: () => holds },
  }) as HoldingWebSocketFactory;
}

/** `ws` with a browser's event delivery, for the vendor SDK; `terminateAll()` after each test. */
export const browserLikeWebSockets = createBrowserLikeWebSocketFactory(WebSocket);

/** The vendor SDK's MeteredPeer, unchanged, on the adapter and on `ws`. */
export function createVendorPeer(
  url: string,
  peerId: string,
  controls: Pick<PeerControls, 'beforeConnect'> = {},
): VendorMeteredPeer {
  return new VendorMeteredPeer({
    url,
    tokenProvider: async () => {
      await controls.beforeConnect?.();
      return mintToken(peerId);
    },
    webSocketFactory: browserLikeWebSockets,
    rtcPeerConnectionFactory: (configuration) =>
      loopbackFactory(configuration) as unknown as VendorPeerConnectionLike,
  });
}

export { waitFor } from '@metered/test-support';

/** Resolves with the first value `subscribe` delivers; rejects after `timeoutMs`. */
export function next<T>(
  what: string,
  subscribe: (deliver: (value: T) => void) => () => void,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

/** The data of the next `message` event of an `RTCDataChannel`-like channel. */
export function nextMessage(
  channel: {
    addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
    removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  },
  what: string,
): Promise<unknown> {
  return next(what, (deliver) => {
    const listener = (event: MessageEvent): void => deliver(event.data);
    channel.addEventListener('message', listener);
    return () => channel.removeEventListener('message', listener);
  });
}

/** Resolves once an `RTCDataChannel`-like channel is open. */
export function opened(
  channel: {
    readonly readyState: string;
    addEventListener(type: 'open', listener: () => void): void;
    removeEventListener(type: 'open', listener: () => void): void;
  },
  what: string,
): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return next(what, (deliver) => {
    const listener = (): void => deliver(undefined);
    channel.addEventListener('open', listener);
    return () => channel.removeEventListener('open', listener);
  });
}
