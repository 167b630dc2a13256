import {
  AckTimeoutError,
  DisconnectedError,
  isErrorCode,
  isTerminalCloseCode,
  OVER_CONCURRENT_LIMIT_FLOOR_MS,
  redactSecrets,
  ServerRequestError,
  type ServerRequestErrorOptions,
  SignallingConnectError,
  SignallingError,
} from '@metered/errors';
import {
  ACK_TIMEOUT_MS,
  createRequestId,
  type JsonObject,
  MAX_SERVER_FRAME_LENGTH,
  parseIceServers,
  type PresenceMember,
  type ServerFrame,
  type WelcomeFrame,
  WELCOME_TIMEOUT_MS,
} from '@metered/protocol';
import { Emitter, type EventClass, type EventHandler, type EventStreamOptions } from './emitter.js';
import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  type PresencePeer,
  ServerError,
  type SignallingEvent,
  type SignallingState,
  StateChange,
  TokenProviderError,
} from './events.js';
import { invalid } from './invalid.js';
import {
  parseOrigin,
  type SignallingClientOptions,
  type SignallingLogger,
  type TokenProvider,
} from './options.js';
import {
  reconnectDelay,
  type ReconnectPolicy,
  resolveReconnectPolicy,
} from './reconnect-policy.js';
import { defaultWebSocketFactory, type WebSocketLike } from './websocket.js';

declare global {
  // The declarations name `Symbol.asyncDispose` (`await using`). It is in TypeScript's
  // `esnext.disposable` lib and in `@types/node`; this makes it known to an app compiled with an
  // older `lib` too (TypeScript merges the declarations). Types only: nothing changes at run time.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** Options of {@link SignallingClient.subscribe}. */
export interface SubscribeOptions {
  /** Ask the server to attach each sender's metadata to the channel's messages. */
  readonly includeSenderMetadata?: boolean | undefined;
  /** Stops waiting for the ack (the subscribe may still take effect: unsubscribe to undo it). */
  readonly signal?: AbortSignal | undefined;
}

type Timer = ReturnType<typeof setTimeout>;

/** Settles a pending request: resolves without an error, rejects with one. */
type Settle = (error?: unknown) => void;

interface CloseRecord {
  readonly code: number;
  readonly reason: string;
}

type Fields = Record<string, unknown>;

/** Replays of one channel after a reconnect that fail are retried this often, this far apart. */
const RESUBSCRIBE_RETRIES = 3;
const RESUBSCRIBE_RETRY_MS = 2_000;
/** `close()` resolves when the socket closed or after this long. */
const CLOSE_FLUSH_MS = 1_000;
/** Code and reason reported when an attempt fails before a socket exists. */
const NO_SOCKET = 1006;
const CLIENT_CLOSED = 'client closed';

const noop = (): void => {};
const isString = (value: unknown): value is string => typeof value === 'string';
const isFiniteNumber = Number.isFinite as (value: unknown) => value is number;
/** A JSON object (not null, not an array), else `null`: optional metadata of the wrong type is dropped. */
const objectOrNull = (value: unknown): JsonObject | null =>
  typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject | null) : null;
/** Presence members: an array of objects with a string `peerId`. */
const isMemberList = (value: unknown): boolean =>
  Array.isArray(value) && value.every((member) => isString((member as Fields | null)?.peerId));

/**
 * The required fields of each server frame type, checked on the parsed JSON (the strict parser of
 * `@metered/protocol` states the same rules; the shared test vectors run through both). Optional
 * fields are checked where they are read.
 */
const VALID: Record<string, ((frame: Fields) => boolean) | undefined> = {
  welcome: (frame) =>
    isString(frame.peerId) &&
    (frame.expiresAt === null || isFiniteNumber(frame.expiresAt)) &&
    isFiniteNumber(frame.serverTime) &&
    isFiniteNumber(frame.maxMessageSize) &&
    frame.maxMessageSize > 0,
  ack: (frame) => isString(frame.requestId),
  error: (frame) => isErrorCode(frame.code),
  message: (frame) => isString(frame.channel) && isString(frame.from) && 'data' in frame,
  direct: (frame) => isString(frame.from) && 'data' in frame,
  presence: (frame) =>
    isString(frame.channel) && isMemberList(frame.joined) && isMemberList(frame.left),
  going_away: () => true,
  pong: () => true,
};

/** Detaches the client from a socket; when `code` is given, closes it and keeps a no-op error handler until it has closed. */
function release(socket: WebSocketLike, code?: number, reason?: string): void {
  const forget = (): void => {
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  };
  forget();
  if (code === undefined) return;
  socket.onclose = forget;
  socket.onerror = noop;
  try {
    socket.close(code, reason);
  } catch {
    // Browsers only accept 1000 and 3000–4999 from a client (1009 is refused): close without one.
    try {
      socket.close();
    } catch {
      forget();
    }
  }
}

/** A channel name of 1–256 UTF-8 bytes without control characters (reserved names are the server's call). */
function checkChannel(channel: string): void {
  if (
    !isString(channel) ||
    !channel ||
    new TextEncoder().encode(channel).length > 256 ||
    // eslint-disable-next-line no-control-regex
    /[\0-\x1f\x7f-\x9f]/.test(channel)
  ) {
    invalid('channel name');
  }
}

/** `data` for publish and send: any JSON value, never `undefined`. */
function checkData(data: unknown): void {
  if (data === undefined) invalid('data: undefined');
}

/**
 * A connection to a protocol v1 server: pub/sub, presence and direct messages, with automatic
 * reconnect, an inactivity watchdog and typed events.
 *
 * Inbound frames are handled in order. When a frame settles a request (an `ack`, a correlated
 * `error`, or the welcome that `connect()` waits for), the frames behind it are handled in a
 * later task, after the request's continuations have run: code that runs when `subscribe()`
 * resolves always sees the `Presence` snapshot that follows the ack, even when both frames
 * arrive in one synchronous burst (as `ws` delivers one TCP read). Frames that arrive in their
 * own task, as in browsers, are handled at once.
 */
export class SignallingClient {
  #state: SignallingState = 'idle';
  readonly #emitter: Emitter;
  /** A copy of the options; the ones below are validated and resolved. */
  readonly #options: SignallingClientOptions;
  readonly #url: string;
  readonly #policy: ReconnectPolicy | false;
  readonly #inactivityTimeoutMs: number;
  readonly #tokenProviderTimeoutMs: number;

  #socket: WebSocketLike | undefined;
  /** Bumped by every attempt and by `close()`: an async step of an older one stops. */
  #generation = 0;
  /** Reconnect attempts since the last welcome. */
  #attempts = 0;
  /** A welcome arrived since `connect()`: drops reconnect instead of failing `connect()`. */
  #welcomed = false;
  #tokenFailures = 0;
  /** What `connect()` returns while it waits for a welcome, and the function that settles it. */
  #connectWaiter: [Promise<void>, Settle] | undefined;
  readonly #pending = new Map<string, Settle>();
  /** Active channels and their `includeSenderMetadata` flag, replayed after a reconnect. */
  readonly #subscriptions = new Map<string, boolean>();
  /** Every running timer: the ones of a connection stop when it ends, all of them on `close()`. */
  readonly #timers = new Set<Timer>();
  #welcomeTimer: Timer | undefined;
  #lastFrameAt = 0;
  #lastPingAt = 0;
  readonly #inbox: (string | CloseRecord)[] = [];
  #pumping = false;
  /** A request settled in the current synchronous run: frames behind it wait for a later task. */
  #settled = false;
  /** Set while inbound handling waits for a settled request's continuations; cancels that wait. */
  #unpause: (() => void) | undefined;
  #abortToken: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SignallingClientOptions) {
    const { apiKey, tokenProvider } = options;
    const inactivity = options.inactivityTimeoutMs ?? 60_000;
    const tokenTimeout = options.tokenProviderTimeoutMs ?? 10_000;
    if (
      !apiKey === !tokenProvider ||
      (apiKey ? !isString(apiKey) : typeof tokenProvider !== 'function')
    ) {
      invalid('credentials: pass exactly one of apiKey and tokenProvider');
    }
    if (typeof inactivity !== 'number' || Number.isNaN(inactivity)) invalid('inactivityTimeoutMs');
    if (!(isFiniteNumber(tokenTimeout) && tokenTimeout > 0)) invalid('tokenProviderTimeoutMs');
    this.#options = { ...options };
    this.#url = parseOrigin(options.url ?? 'wss://rms.metered.ca');
    this.#policy = resolveReconnectPolicy(options.reconnect);
    this.#inactivityTimeoutMs = inactivity;
    this.#tokenProviderTimeoutMs = tokenTimeout;
    this.#emitter = new Emitter((error) => this.#log('error', `listener threw: ${String(error)}`));
  }

  /** `idle → connecting → connected ⇄ reconnecting → closed`. */
  get state(): SignallingState {
    return this.#state;
  }

  /**
   * Connects and resolves on the server's welcome. While connecting or reconnecting it returns the
   * same wait; when connected it resolves at once. Rejects with `SignallingConnectError` when the
   * attempt fails before a welcome (after which `connect()` may be called again), and with a
   * `SignallingError` after `close()`.
   */
  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(new SignallingError({ message: CLIENT_CLOSED }));
    const state = this.#state;
    if (state === 'connected') return Promise.resolve();
    if (!this.#connectWaiter) {
      let settle: Settle = noop;
      const promise = new Promise<void>((resolve, reject) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- always an Error
        settle = (error) => (error ? reject(error) : resolve());
      });
      this.#connectWaiter = [promise, settle];
    }
    if (state === 'idle' || state === 'closed') {
      this.#welcomed = false;
      this.#attempts = 0;
      this.#setState('connecting');
      void this.#open();
    }
    return this.#connectWaiter[0];
  }

  /**
   * Closes for good: no reconnect, every pending request rejects with `DisconnectedError`, every
   * timer stops and `events()` streams end. Resolves when the socket has closed, or after 1 s.
   * Idempotent.
   */
  close(code = 1000, reason = 'client requested close'): Promise<void> {
    if (this.#closing) return this.#closing;
    const socket = this.#socket;
    const from = this.#state;
    this.#socket = undefined;
    this.#closing = new Promise((resolve) => {
      if (!socket) return resolve();
      const done = (): void => {
        clearTimeout(flush);
        socket.onclose = socket.onerror = null;
        resolve();
      };
      const flush = setTimeout(done, CLOSE_FLUSH_MS);
      release(socket, code, reason);
      // `release` closed the socket (maybe synchronously): wait for its close event if still due.
      if (socket.onclose) socket.onclose = done;
      else done();
    });
    this.#finish(code, reason, from !== 'idle' && from !== 'closed');
    return this.#closing;
  }

  /** Same as {@link SignallingClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Subscribes to a channel; resolves on the server's ack. The channel is replayed after every
   * reconnect until {@link SignallingClient.unsubscribe}.
   */
  async subscribe(channel: string, options: SubscribeOptions = {}): Promise<void> {
    checkChannel(channel);
    const { signal } = options;
    signal?.throwIfAborted();
    const flag = options.includeSenderMetadata === true;
    const subscriptions = this.#subscriptions;
    const known = subscriptions.has(channel);
    if (this.#state === 'connected') subscriptions.set(channel, flag);
    let request = this.#subscribe(channel, flag);
    if (signal) {
      const acked = request;
      request = new Promise((resolve, reject) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener('abort', onAbort);
        acked.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    }
    try {
      await request;
    } catch (error) {
      if (!known && error instanceof ServerRequestError) subscriptions.delete(channel);
      throw error;
    }
  }

  /** Unsubscribes from a channel (it is no longer replayed, even when this call fails). */
  async unsubscribe(channel: string): Promise<void> {
    checkChannel(channel);
    this.#subscriptions.delete(channel);
    return this.#request({ type: 'unsubscribe', channel });
  }

  /** Publishes `data` (any JSON value, `null` included) to a channel; resolves on the ack. */
  async publish(channel: string, data: unknown): Promise<void> {
    checkChannel(channel);
    checkData(data);
    return this.#request({ type: 'publish', channel, data });
  }

  /** Sends `data` to one peer; resolves on the ack. */
  async send(peerId: string, data: unknown): Promise<void> {
    // A peer id is 1–128 printable ASCII characters.
    if (!isString(peerId) || !/^[\x20-\x7e]{1,128}$/.test(peerId)) invalid('peer id');
    checkData(data);
    return this.#request({ type: 'send', to: peerId, data });
  }

  /** Calls `handler` with every event of a class; returns the function that removes it. */
  on<T extends SignallingEvent>(type: EventClass<T>, handler: EventHandler<T>): () => void {
    return this.#emitter.on(type, handler);
  }

  /** Like {@link SignallingClient.on}, for the next event only. */
  once<T extends SignallingEvent>(type: EventClass<T>, handler: EventHandler<T>): () => void {
    return this.#emitter.on(type, handler, true);
  }

  /** Removes a handler added with `on` or `once`. */
  off<T extends SignallingEvent>(type: EventClass<T>, handler: EventHandler<T>): void {
    this.#emitter.off(type, handler);
  }

  /** The events of one class as an async iterable; ends when the client closes or `signal` aborts. */
  events<T extends SignallingEvent>(
    type: EventClass<T>,
    options?: EventStreamOptions,
  ): AsyncIterableIterator<T> {
    return this.#emitter.events(type, options);
  }

  // ---- connection ----

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    const stale = (): boolean => generation !== this.#generation;
    const { tokenProvider: provider, apiKey, webSocketFactory } = this.#options;
    let failure: string | undefined = provider && 'token provider failed';
    let socket: WebSocketLike;
    try {
      const query = provider
        ? `token=${encodeURIComponent(await this.#fetchToken(provider))}`
        : `key=${encodeURIComponent(apiKey as string)}`;
      this.#tokenFailures = 0;
      if (stale()) return;
      failure = undefined;
      const url = `${this.#url}/v1?${query}`;
      this.#log('debug', `opening ${url}`);
      socket = (webSocketFactory ?? (await defaultWebSocketFactory()))(url);
    } catch (error) {
      if (stale()) return;
      const reason = failure ?? 'cannot open a socket';
      this.#log(failure ? 'warn' : 'error', `${reason}: ${String(error)}`);
      if (failure) {
        this.#emitter.emit(
          new TokenProviderError({ consecutiveFailures: ++this.#tokenFailures, err: error }),
        );
      }
      return this.#closed(NO_SOCKET, reason, error);
    }
    if (stale()) return release(socket, 1000);
    this.#socket = socket;
    this.#welcomeTimer = this.#timer(() => this.#drop(4000, 'welcome timeout'), WELCOME_TIMEOUT_MS);
    socket.onmessage = ({ data }) => {
      if (!isString(data)) return this.#log('warn', 'binary frame dropped');
      this.#lastFrameAt = Date.now();
      this.#enqueue(data);
    };
    socket.onclose = ({ code, reason }) => this.#enqueue({ code, reason });
    socket.onerror = () => this.#log('debug', 'socket error');
  }

  #fetchToken(provider: TokenProvider): Promise<string> {
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const settle = (error?: unknown, token?: string): void => {
        this.#clearTimer(timer);
        this.#abortToken = undefined;
        if (token) return resolve(token);
        controller.abort();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the provider's own error
        reject(error);
      };
      const timer = this.#timer(
        () => settle(new SignallingError({ message: 'token provider timed out' })),
        this.#tokenProviderTimeoutMs,
      );
      this.#abortToken = () => settle(new SignallingError({ message: CLIENT_CLOSED }));
      Promise.resolve()
        .then(() => provider({ signal: controller.signal }))
        .then((token) => {
          if (!isString(token) || !token) invalid('token: the provider returned none');
          settle(undefined, token);
        })
        .catch(settle);
    });
  }

  /** Closes the current socket from this side (watchdog, welcome timeout, oversized frame). */
  #drop(code: number, reason: string): void {
    this.#log('warn', `closing: ${reason}`);
    if (this.#socket) release(this.#socket, code, reason);
    this.#socket = undefined;
    this.#closed(code, reason);
  }

  /** The socket is gone (or an attempt failed before it existed): reconnect or finish. */
  #closed(code: number, reason: string, cause?: unknown): void {
    const policy = this.#policy;
    if (
      !this.#welcomed ||
      !policy ||
      isTerminalCloseCode(code) ||
      this.#attempts >= policy.maxAttempts
    ) {
      return this.#finish(code, reason, true, cause);
    }
    this.#stop(code);
    if (this.#state === 'connected') {
      this.#setState('reconnecting');
      this.#emitter.emit(new Disconnected({ code, reason, willReconnect: true }));
    }
    // 4010 (over the concurrent-connection limit) floors the next delay; 4002 needs nothing more:
    // every attempt asks the token provider for a fresh token.
    const delay = reconnectDelay(
      policy,
      ++this.#attempts,
      this.#options.random ?? Math.random,
      code === 4010 ? OVER_CONCURRENT_LIMIT_FLOOR_MS : 0,
    );
    this.#log('info', `closed (${code}); reconnect attempt ${this.#attempts} in ${delay} ms`);
    this.#timer(() => void this.#open(), delay);
  }

  /**
   * Ends the current connection: detaches its socket, drops its unhandled frames, rejects its
   * pending requests and stops every timer (welcome, watchdog, acks, resubscribe retries).
   */
  #stop(code: number): void {
    if (this.#socket) release(this.#socket);
    this.#socket = undefined;
    this.#inbox.length = 0;
    this.#unpause?.();
    this.#unpause = undefined;
    for (const [requestId, settle] of this.#pending) {
      settle(
        new DisconnectedError({ message: `disconnected (${code}) before ack of ${requestId}` }),
      );
    }
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Enters `closed`: stops everything and emits the final `Disconnected` when `announce`. */
  #finish(code: number, reason: string, announce: boolean, cause?: unknown): void {
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    this.#generation++;
    this.#abortToken?.();
    this.#stop(code);
    this.#setState('closed');
    if (announce) this.#emitter.emit(new Disconnected({ code, reason, willReconnect: false }));
    this.#emitter.end();
    waiter?.[1](
      this.#closing
        ? new SignallingError({ message: CLIENT_CLOSED })
        : new SignallingConnectError({ closeCode: code, closeReason: reason, cause }),
    );
  }

  // ---- inbound ----

  #enqueue(item: string | CloseRecord): void {
    this.#inbox.push(item);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const inbox = this.#inbox;
    while (!this.#unpause && inbox.length > 0) {
      if (this.#settled) {
        this.#pause();
        break;
      }
      const next = inbox.shift() as string | CloseRecord;
      if (isString(next)) this.#handle(next);
      else this.#closed(next.code, next.reason);
    }
    this.#pumping = false;
  }

  /**
   * Called when a request settles. Frames of the same synchronous burst (`ws` emits every frame of
   * one read before any promise continuation runs) then wait for a later task.
   */
  #markSettled(): void {
    if (this.#settled) return;
    this.#settled = true;
    queueMicrotask(() => (this.#settled = false));
  }

  /** Holds the inbox until the continuations of a request settled just now have run. */
  #pause(): void {
    const { setImmediate: immediate, clearImmediate } = globalThis;
    // A task after the microtasks: `setImmediate` where the runtime has it, else a zero timer.
    const [set, clear] = immediate ? [immediate, clearImmediate] : [setTimeout, clearTimeout];
    const handle = set(() => {
      this.#unpause = undefined;
      this.#pump();
    });
    this.#unpause = () => clear(handle as never);
  }

  /** Validates one text frame and acts on it; a malformed frame is logged and dropped. */
  #handle(text: string): void {
    if (text.length > MAX_SERVER_FRAME_LENGTH) return this.#drop(1009, 'frame exceeded client cap');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Reported below.
    }
    const type = (parsed as Fields | null)?.type;
    if (!isString(type) || !Object.hasOwn(VALID, type) || !VALID[type]?.(parsed as Fields)) {
      return this.#log('warn', 'malformed frame dropped');
    }
    const frame = parsed as ServerFrame;
    if (frame.type === 'welcome') return this.#welcome(frame);
    if (this.#state !== 'connected') return this.#log('warn', `${type} before welcome`);
    switch (frame.type) {
      case 'message': {
        // The hot path: the same frozen instance `new Message({...})` makes, without the fields
        // object in between.
        const event = Object.create(Message.prototype) as {
          -readonly [K in keyof Message]: Message[K];
        };
        event.channel = frame.channel;
        event.senderPeerId = frame.from;
        event.data = frame.data;
        event.senderMetadata = objectOrNull(frame.fromMetadata);
        return this.#emitter.emit(Object.freeze(event));
      }
      case 'direct':
        return this.#emitter.emit(
          new Direct({
            senderPeerId: frame.from,
            data: frame.data,
            senderMetadata: objectOrNull(frame.fromMetadata),
          }),
        );
      case 'ack':
        return this.#settle(frame.requestId);
      case 'error': {
        const { code } = frame;
        const requestId = isString(frame.requestId) ? frame.requestId : null;
        const message = isString(frame.message) ? frame.message : null;
        if (requestId !== null && this.#pending.has(requestId)) {
          return this.#settle(
            requestId,
            // A `null` message is the same as none: the class's own text.
            new ServerRequestError({ code, requestId, message } as ServerRequestErrorOptions),
          );
        }
        if (code !== 'unknown_type' || requestId !== null) {
          this.#emitter.emit(new ServerError({ code, message, requestId }));
        }
        return;
      }
      case 'presence': {
        const peers = (list: readonly PresenceMember[]): readonly PresencePeer[] =>
          Object.freeze(
            list.map(({ peerId, metadata }) =>
              Object.freeze({ peerId, metadata: objectOrNull(metadata) }),
            ),
          );
        return this.#emitter.emit(
          new Presence({
            channel: frame.channel,
            joined: peers(frame.joined),
            left: peers(frame.left),
          }),
        );
      }
      case 'going_away': {
        const { retryAfterMs } = frame;
        return this.#emitter.emit(
          new GoingAway({
            retryAfterMs: isFiniteNumber(retryAfterMs) && retryAfterMs >= 0 ? retryAfterMs : 1000,
          }),
        );
      }
      case 'pong':
    }
  }

  #welcome(frame: WelcomeFrame): void {
    if (this.#state === 'connected' || !this.#socket) {
      return this.#log('warn', 'unexpected welcome ignored');
    }
    this.#clearTimer(this.#welcomeTimer);
    const isReconnect = this.#welcomed;
    this.#welcomed = true;
    this.#attempts = 0;
    this.#setState('connected');
    this.#watch();
    this.#emitter.emit(
      new Connected({
        peerId: frame.peerId,
        serverTime: frame.serverTime,
        expiresAt: frame.expiresAt,
        isReconnect,
        maxMessageSize: frame.maxMessageSize,
        iceServers: parseIceServers(frame.metadata?.iceServers),
      }),
    );
    if (isReconnect && (this.#options.autoResubscribe ?? true)) {
      for (const [channel, flag] of this.#subscriptions) this.#resubscribe(channel, flag, 0);
    }
    // A listener that closed the client has already settled the waiter.
    const waiter = this.#connectWaiter;
    if (waiter) {
      this.#connectWaiter = undefined;
      waiter[1]();
      this.#markSettled();
    }
  }

  #resubscribe(channel: string, flag: boolean, retry: number): void {
    const generation = this.#generation;
    this.#subscribe(channel, flag).catch((error: unknown) => {
      if (generation !== this.#generation || this.#state !== 'connected') return;
      this.#log('warn', `resubscribe to ${channel} failed: ${String(error)}`);
      if (retry < RESUBSCRIBE_RETRIES) {
        this.#timer(() => {
          const current = this.#subscriptions.get(channel);
          if (current !== undefined) this.#resubscribe(channel, current, retry + 1);
        }, RESUBSCRIBE_RETRY_MS);
      }
    });
  }

  /**
   * One timer for the watchdog and the keepalive: it compares the time of the last inbound frame
   * instead of being re-armed by every frame.
   */
  #watch(): void {
    const timeout = this.#inactivityTimeoutMs;
    if (!(timeout > 0 && timeout < Infinity)) return;
    const interval = Math.max(1000, Math.floor(timeout / 3));
    this.#lastPingAt = 0;
    const check = (): void => {
      const now = Date.now();
      const last = this.#lastFrameAt;
      if (now - last >= timeout) return this.#drop(4000, 'inactivity timeout');
      if (now - Math.max(last, this.#lastPingAt) >= interval) {
        this.#lastPingAt = now;
        this.#socket?.send('{"type":"ping"}');
      }
      this.#timer(
        check,
        Math.min(last + timeout, Math.max(last, this.#lastPingAt) + interval) - now,
      );
    };
    this.#timer(check, interval);
  }

  // ---- requests ----

  /** A subscribe frame; the `includeSenderMetadata` key is left out when false. */
  #subscribe(channel: string, flag: boolean): Promise<void> {
    return this.#request({ type: 'subscribe', channel, includeSenderMetadata: flag || undefined });
  }

  /** Sends `frame` with a fresh `requestId` and resolves on its ack. */
  #request(frame: Fields): Promise<void> {
    return new Promise((resolve, reject) => {
      const requestId = (frame.requestId = createRequestId());
      const text = JSON.stringify(frame);
      const socket = this.#socket;
      if (this.#state !== 'connected' || !socket) {
        throw new SignallingError({ message: 'not connected' });
      }
      socket.send(text);
      const settle: Settle = (error) => {
        this.#pending.delete(requestId);
        this.#clearTimer(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- always an Error
        if (error) reject(error);
        else resolve();
      };
      const timer = this.#timer(
        () => settle(new AckTimeoutError({ requestId, timeout: ACK_TIMEOUT_MS })),
        ACK_TIMEOUT_MS,
      );
      this.#pending.set(requestId, settle);
    });
  }

  /** An `ack` or a correlated `error` arrived: settles its request. */
  #settle(requestId: string, error?: unknown): void {
    const settle = this.#pending.get(requestId);
    if (settle) {
      settle(error);
      this.#markSettled();
    }
  }

  // ---- helpers ----

  #timer(callback: () => void, ms: number): Timer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      callback();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #clearTimer(timer: Timer | undefined): void {
    clearTimeout(timer);
    this.#timers.delete(timer as Timer);
  }

  #setState(to: SignallingState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#emitter.emit(new StateChange({ from, to }));
  }

  #log(level: keyof SignallingLogger, message: string): void {
    this.#options.logger?.[level]?.(redactSecrets(message));
  }
}
