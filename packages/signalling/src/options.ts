import { INACTIVITY_TIMEOUT_MS, type StreamPosition } from '@metered/protocol';
import { DEFAULT_RECONNECT, type ReconnectOptions } from './reconnect-policy.js';
import { invalid } from './invalid.js';
import type { WebSocketFactory } from './websocket.js';

/** Where the client writes what it does; every method is optional and receives secret-free text. */
export interface SignallingLogger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

/** Mints a JWT for one connection attempt or one in-band refresh; aborted on timeout, drop or close. */
export type TokenProvider = (context: { readonly signal: AbortSignal }) => string | Promise<string>;

/** Options of {@link SignallingClient.subscribe}. */
export interface SubscribeOptions {
  /** Ask the server to attach each sender's metadata to the channel's messages. */
  readonly includeSenderMetadata?: boolean | undefined;
  /** Stops waiting for the ack (the subscribe may still take effect: unsubscribe to undo it). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * {@link SubscribeOptions} with recovery (extension `recovery`, ignored by a server without it);
 * with `recover` or `since` given, `subscribe()` resolves to a {@link SubscribeResult}.
 */
export interface RecoverOptions extends SubscribeOptions {
  /**
   * `true`: recover missed messages after every reconnect: the client holds the channel's
   * position and resubscribes from it.
   */
  readonly recover?: boolean | undefined;
  /**
   * Start from a position stored earlier (from {@link SignallingClient.position}): the server
   * replays every message after it, or says it cannot. Implies `recover: true`.
   */
  readonly since?: StreamPosition | undefined;
}

/** {@link RecoverOptions} that name `recover` or `since`. */
export type RecoveringSubscribeOptions = RecoverOptions &
  ({ readonly recover: boolean } | { readonly since: StreamPosition });

/** What a subscribe with `recover` or `since` resolves to. */
export interface SubscribeResult {
  /**
   * `true` when `since` was sent and the server replays every message after it (they follow as
   * `Message` events); `false` otherwise (nothing replayed: resynchronise from your backend).
   */
  readonly recovered: boolean;
  /** The channel's position held now; `null` when the server keeps no history for it. */
  readonly position: StreamPosition | null;
}

/** Options of {@link SignallingClient.publish} and {@link SignallingClient.send}. */
export interface PublishOptions {
  /**
   * 1–128 characters naming this publish (extension `idempotency`): a retry with the same key is
   * applied at most once within the server's window. A server without the extension never sees
   * the key: each retry is then applied again.
   */
  readonly idempotencyKey?: string | undefined;
}

/** What a publish or send with {@link PublishOptions} resolves to. */
export interface PublishResult {
  /** The server had already applied a publish with this idempotency key: not applied again. */
  readonly duplicate: boolean;
}

/** Options of {@link SignallingClient}: exactly one of `apiKey` and `tokenProvider`. */
export interface SignallingClientOptions {
  /** A publishable key, sent as `?key=`. */
  readonly apiKey?: string | undefined;
  /**
   * Returns a JWT, sent as `?token=`; called before every connection attempt, and before the
   * token expires when the server offers in-band refresh (extension `refresh`).
   */
  readonly tokenProvider?: TokenProvider | undefined;
  /** The server's origin, `wss://host[:port]` (`ws:` only for localhost). Default `wss://rms.metered.ca`. */
  readonly url?: string | undefined;
  /** Backoff of automatic reconnects, or `false` to never reconnect. */
  readonly reconnect?: ReconnectOptions | false | undefined;
  /** Closes (4000) and reconnects after this long with nothing received; pings at a third of it. ≤ 0 disables both. Default 60 000. */
  readonly inactivityTimeoutMs?: number | undefined;
  /** Longest wait for the token provider on one attempt. Default 10 000. */
  readonly tokenProviderTimeoutMs?: number | undefined;
  /** Subscribe again to every channel after a reconnect. Default `true`. */
  readonly autoResubscribe?: boolean | undefined;
  readonly logger?: SignallingLogger | undefined;
  /** Opens the socket; default the global `WebSocket`, else `ws`. */
  readonly webSocketFactory?: WebSocketFactory | undefined;
  /** Uniform random numbers in [0, 1) for the backoff jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

// The defaults, one constant each so that the client's bundle does not carry the object below.
export const DEFAULT_URL = 'wss://rms.metered.ca';
export const DEFAULT_INACTIVITY_TIMEOUT_MS = INACTIVITY_TIMEOUT_MS;
export const DEFAULT_TOKEN_PROVIDER_TIMEOUT_MS = 10_000;
export const DEFAULT_AUTO_RESUBSCRIBE = true;

/** The defaults of {@link SignallingClientOptions}. */
export const SIGNALLING_CLIENT_DEFAULTS = /* @__PURE__ */ Object.freeze({
  url: DEFAULT_URL,
  reconnect: DEFAULT_RECONNECT,
  inactivityTimeoutMs: DEFAULT_INACTIVITY_TIMEOUT_MS,
  tokenProviderTimeoutMs: DEFAULT_TOKEN_PROVIDER_TIMEOUT_MS,
  autoResubscribe: DEFAULT_AUTO_RESUBSCRIBE,
});

/**
 * Checks the credentials and the timeouts (`TypeError` on a bad value); returns
 * `[inactivityTimeoutMs, tokenProviderTimeoutMs]` with their defaults applied.
 */
export function checkOptions(options: SignallingClientOptions): [number, number] {
  const { apiKey, tokenProvider } = options;
  const inactivity = options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
  const tokenTimeout = options.tokenProviderTimeoutMs ?? DEFAULT_TOKEN_PROVIDER_TIMEOUT_MS;
  if (
    !apiKey === !tokenProvider ||
    (apiKey ? typeof apiKey !== 'string' : typeof tokenProvider !== 'function')
  ) {
    invalid('credentials: pass exactly one of apiKey and tokenProvider');
  }
  if (typeof inactivity !== 'number' || Number.isNaN(inactivity)) invalid('inactivityTimeoutMs');
  if (!(Number.isFinite(tokenTimeout) && tokenTimeout > 0)) invalid('tokenProviderTimeoutMs');
  return [inactivity, tokenTimeout];
}

/**
 * Validates the `url` option and returns its origin. `wss:` anywhere, `ws:` only for localhost,
 * 127.0.0.1 and ::1; no path, query, fragment or credentials.
 */
export function parseOrigin(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Reported below.
  }
  if (
    !parsed ||
    (parsed.protocol === 'ws:'
      ? !/^(localhost|127\.0\.0\.1|\[::1\])$/.test(parsed.hostname)
      : parsed.protocol !== 'wss:') ||
    parsed.pathname !== '/' ||
    /[?#]/.test(url) ||
    parsed.username ||
    parsed.password
  ) {
    invalid('url: a wss: origin (ws: only for localhost)');
  }
  return parsed.origin;
}
