import {
  AckTimeoutError,
  DisconnectedError,
  isTerminalCloseCode,
  OVER_CONCURRENT_LIMIT_FLOOR_MS,
  redactSecrets,
  ServerRequestError,
  SignallingConnectError,
  SignallingError,
} from '@metered/errors';
import {
  createRequestId,
  encodePublish,
  encodeSend,
  encodeSubscribe,
  encodeUnsubscribe,
  isValidPeerId,
  parseIceServers,
  parseServerFrame,
  PING_FRAME,
  PROTOCOL_TIMEOUTS,
  validateChannelName,
  type WelcomeFrame,
} from '@metered/protocol';
import { Emitter, type EventClass, type EventHandler, type EventStreamOptions } from './emitter.js';
import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  ServerError,
  type SignallingEvent,
  type SignallingState,
  StateChange,
  TokenProviderError,
} from './events.js';
import {
  parseOrigin,
  SIGNALLING_CLIENT_DEFAULTS,
  type SignallingClientOptions,
  type SignallingLogger,
  type TokenProvider,
} from './options.js';
import {
  reconnectDelay,
  type ReconnectPolicy,
  resolveReconnectPolicy,
} from './reconnect-policy.js';
import { defaultWebSocketFactory, type WebSocketFactory, type WebSocketLike } from './websocket.js';

/** Options of {@link SignallingClient.subscribe}. */
export interface SubscribeOptions {
  /** Ask the server to attach each sender's metadata to the channel's messages. */
  readonly includeSenderMetadata?: boolean | undefined;
  /** Stops waiting for the ack (the subscribe may still take effect: unsubscribe to undo it). */
  readonly signal?: AbortSignal | undefined;
}

type Timer = ReturnType<typeof setTimeout>;

interface PendingRequest {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: Timer;
}

interface CloseRecord {
  readonly code: number;
  readonly reason: string;
}

/** Replays of one channel after a reconnect that fail are retried this often, this far apart. */
const RESUBSCRIBE_RETRIES = 3;
const RESUBSCRIBE_RETRY_MS = 2_000;
/** `close()` resolves when the socket closed or after this long. */
const CLOSE_FLUSH_MS = 1_000;
/** Code and reason reported when an attempt fails before a socket exists. */
const NO_SOCKET = 1006;

const noop = (): void => {};

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

function checkChannel(channel: string): void {
  if (validateChannelName(channel) === 'invalid_channel') {
    throw new TypeError('invalid channel name');
  }
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
  #currentState: SignallingState = 'idle';
  readonly #emitter: Emitter;
  readonly #url: string;
  readonly #apiKey: string | undefined;
  readonly #tokenProvider: TokenProvider | undefined;
  readonly #policy: ReconnectPolicy | false;
  readonly #inactivityTimeoutMs: number;
  readonly #tokenProviderTimeoutMs: number;
  readonly #autoResubscribe: boolean;
  readonly #logger: SignallingLogger | undefined;
  readonly #factory: WebSocketFactory | undefined;
  readonly #random: () => number;

  #socket: WebSocketLike | undefined;
  /** Bumped by every attempt and by `close()`: an async step of an older one stops. */
  #generation = 0;
  /** Reconnect attempts since the last welcome. */
  #attempts = 0;
  /** A welcome arrived since `connect()`: drops reconnect instead of failing `connect()`. */
  #welcomed = false;
  #tokenFailures = 0;
  #connectWaiter:
    { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;
  readonly #pending = new Map<string, PendingRequest>();
  /** Active channels and their `includeSenderMetadata` flag, replayed after a reconnect. */
  readonly #subscriptions = new Map<string, boolean>();
  readonly #timers = new Set<Timer>();
  #welcomeTimer: Timer | undefined;
  #watchdogTimer: Timer | undefined;
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
    if (!apiKey === !tokenProvider) {
      throw new TypeError('pass exactly one of apiKey and tokenProvider');
    }
    if (apiKey ? typeof apiKey !== 'string' : typeof tokenProvider !== 'function') {
      throw new TypeError('invalid apiKey or tokenProvider');
    }
    const defaults = SIGNALLING_CLIENT_DEFAULTS;
    const inactivity = options.inactivityTimeoutMs ?? defaults.inactivityTimeoutMs;
    const tokenTimeout = options.tokenProviderTimeoutMs ?? defaults.tokenProviderTimeoutMs;
    if (typeof inactivity !== 'number' || Number.isNaN(inactivity)) {
      throw new TypeError('invalid inactivityTimeoutMs');
    }
    if (!Number.isFinite(tokenTimeout) || tokenTimeout <= 0) {
      throw new TypeError('invalid tokenProviderTimeoutMs');
    }
    this.#url = parseOrigin(options.url ?? defaults.url);
    this.#apiKey = apiKey;
    this.#tokenProvider = tokenProvider;
    this.#policy = resolveReconnectPolicy(options.reconnect);
    this.#inactivityTimeoutMs = inactivity;
    this.#tokenProviderTimeoutMs = tokenTimeout;
    this.#autoResubscribe = options.autoResubscribe ?? defaults.autoResubscribe;
    this.#logger = options.logger;
    this.#factory = options.webSocketFactory;
    this.#random = options.random ?? Math.random;
    this.#emitter = new Emitter((error) => this.#log('error', `listener threw: ${String(error)}`));
  }

  /** `idle → connecting → connected ⇄ reconnecting → closed`. */
  get state(): SignallingState {
    return this.#currentState;
  }

  /**
   * Connects and resolves on the server's welcome. While connecting or reconnecting it returns the
   * same wait; when connected it resolves at once. Rejects with `SignallingConnectError` when the
   * attempt fails before a welcome (after which `connect()` may be called again), and with a
   * `SignallingError` after `close()`.
   */
  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(new SignallingError({ message: 'client closed' }));
    if (this.#currentState === 'connected') return Promise.resolve();
    if (!this.#connectWaiter) {
      let resolve = noop;
      let reject: (error: unknown) => void = noop;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#connectWaiter = { promise, resolve, reject };
    }
    if (this.#currentState === 'idle' || this.#currentState === 'closed') {
      this.#welcomed = false;
      this.#attempts = 0;
      this.#setState('connecting');
      void this.#open();
    }
    return this.#connectWaiter.promise;
  }

  /**
   * Closes for good: no reconnect, every pending request rejects with `DisconnectedError`, every
   * timer stops and `events()` streams end. Resolves when the socket has closed, or after 1 s.
   * Idempotent.
   */
  close(code = 1000, reason = 'client requested close'): Promise<void> {
    if (this.#closing) return this.#closing;
    const socket = this.#socket;
    const from = this.#currentState;
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
    const known = this.#subscriptions.has(channel);
    if (this.#currentState === 'connected') this.#subscriptions.set(channel, flag);
    let request = this.#request((requestId) => encodeSubscribe(channel, requestId, flag));
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
      if (!known && error instanceof ServerRequestError) this.#subscriptions.delete(channel);
      throw error;
    }
  }

  /** Unsubscribes from a channel (it is no longer replayed, even when this call fails). */
  async unsubscribe(channel: string): Promise<void> {
    checkChannel(channel);
    this.#subscriptions.delete(channel);
    return this.#request((requestId) => encodeUnsubscribe(channel, requestId));
  }

  /** Publishes `data` (any JSON value, `null` included) to a channel; resolves on the ack. */
  async publish(channel: string, data: unknown): Promise<void> {
    checkChannel(channel);
    return this.#request((requestId) => encodePublish(channel, data, requestId));
  }

  /** Sends `data` to one peer; resolves on the ack. */
  async send(peerId: string, data: unknown): Promise<void> {
    if (!isValidPeerId(peerId)) throw new TypeError('invalid peer id');
    return this.#request((requestId) => encodeSend(peerId, data, requestId));
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
    let query = `key=${encodeURIComponent(this.#apiKey as string)}`;
    let socket: WebSocketLike;
    try {
      if (this.#tokenProvider) {
        let token: string;
        try {
          token = await this.#fetchToken(this.#tokenProvider);
          this.#tokenFailures = 0;
        } catch (error) {
          if (generation !== this.#generation) return;
          this.#log('warn', `token provider failed: ${String(error)}`);
          this.#emit(
            new TokenProviderError({ consecutiveFailures: ++this.#tokenFailures, err: error }),
          );
          return this.#closed(NO_SOCKET, 'token provider failed', error);
        }
        if (generation !== this.#generation) return;
        query = `token=${encodeURIComponent(token)}`;
      }
      const url = `${this.#url}/v1?${query}`;
      this.#log('debug', `opening ${url}`);
      socket = (this.#factory ?? (await defaultWebSocketFactory()))(url);
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#log('error', `cannot open a socket: ${String(error)}`);
      return this.#closed(NO_SOCKET, 'cannot open a socket', error);
    }
    if (generation !== this.#generation) return release(socket, 1000);
    this.#socket = socket;
    this.#welcomeTimer = this.#timer(
      () => this.#drop(4000, 'welcome timeout'),
      PROTOCOL_TIMEOUTS.welcomeTimeoutMs,
    );
    socket.onmessage = ({ data }) => {
      if (typeof data !== 'string') return this.#log('warn', 'binary frame dropped');
      this.#lastFrameAt = Date.now();
      this.#enqueue(data);
    };
    socket.onclose = ({ code, reason }) => this.#enqueue({ code, reason });
    socket.onerror = () => this.#log('debug', 'socket error');
  }

  #fetchToken(provider: TokenProvider): Promise<string> {
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const fail = (error: unknown): void => {
        this.#clearTimer(timer);
        this.#abortToken = undefined;
        controller.abort();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the provider's own error
        reject(error);
      };
      const timer = this.#timer(
        () => fail(new SignallingError({ message: 'token provider timed out' })),
        this.#tokenProviderTimeoutMs,
      );
      this.#abortToken = () => fail(new SignallingError({ message: 'client closed' }));
      Promise.resolve()
        .then(() => provider({ signal: controller.signal }))
        .then((token) => {
          if (typeof token !== 'string' || !token) throw new TypeError('no token returned');
          this.#clearTimer(timer);
          this.#abortToken = undefined;
          resolve(token);
        })
        .catch(fail);
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
    if (this.#socket) release(this.#socket);
    this.#socket = undefined;
    this.#stopInbound();
    this.#clearTimer(this.#welcomeTimer);
    this.#clearTimer(this.#watchdogTimer);
    this.#rejectPending(code);
    const policy = this.#policy;
    if (
      !this.#welcomed ||
      !policy ||
      isTerminalCloseCode(code) ||
      this.#attempts >= policy.maxAttempts
    ) {
      return this.#finish(code, reason, true, cause);
    }
    if (this.#currentState === 'connected') {
      this.#setState('reconnecting');
      this.#emit(new Disconnected({ code, reason, willReconnect: true }));
    }
    // 4010 (over the concurrent-connection limit) floors the next delay; 4002 needs nothing more:
    // every attempt asks the token provider for a fresh token.
    const floor = code === 4010 ? OVER_CONCURRENT_LIMIT_FLOOR_MS : 0;
    const delay = reconnectDelay(policy, ++this.#attempts, this.#random, floor);
    this.#log('info', `closed (${code}); reconnect attempt ${this.#attempts} in ${delay} ms`);
    this.#timer(() => void this.#open(), delay);
  }

  /** Enters `closed`: stops everything and emits the final `Disconnected` when `announce`. */
  #finish(code: number, reason: string, announce: boolean, cause?: unknown): void {
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    this.#socket = undefined;
    this.#generation++;
    this.#abortToken?.();
    this.#stopInbound();
    this.#rejectPending(code);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#setState('closed');
    if (announce) this.#emit(new Disconnected({ code, reason, willReconnect: false }));
    this.#emitter.end();
    waiter?.reject(
      this.#closing
        ? new SignallingError({ message: 'client closed' })
        : new SignallingConnectError({ closeCode: code, closeReason: reason, cause }),
    );
  }

  #rejectPending(code: number): void {
    for (const [requestId, request] of this.#pending) {
      this.#clearTimer(request.timer);
      request.reject(
        new DisconnectedError({ message: `disconnected (${code}) before ack of ${requestId}` }),
      );
    }
    this.#pending.clear();
  }

  // ---- inbound ----

  #enqueue(item: string | CloseRecord): void {
    this.#inbox.push(item);
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    while (!this.#unpause && this.#inbox.length > 0) {
      if (this.#settled) {
        this.#pause();
        break;
      }
      const next = this.#inbox.shift() as string | CloseRecord;
      if (typeof next === 'string') this.#handle(next);
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
    const resume = (): void => {
      this.#unpause = undefined;
      this.#pump();
    };
    const { setImmediate: immediate, clearImmediate } = globalThis;
    if (typeof immediate === 'function') {
      const handle = immediate(resume);
      this.#unpause = () => clearImmediate(handle);
    } else {
      const handle = setTimeout(resume, 0);
      this.#unpause = () => clearTimeout(handle);
    }
  }

  #stopInbound(): void {
    this.#inbox.length = 0;
    this.#unpause?.();
    this.#unpause = undefined;
  }

  #handle(text: string): void {
    const result = parseServerFrame(text);
    if (!result.ok) {
      if (result.error.reason === 'too_large') return this.#drop(1009, 'frame exceeded client cap');
      return this.#log('warn', `malformed frame dropped: ${result.error.reason}`);
    }
    const frame = result.frame;
    if (frame.type === 'welcome') return this.#welcome(frame);
    if (this.#currentState !== 'connected')
      return this.#log('warn', `${frame.type} before welcome`);
    switch (frame.type) {
      case 'ack':
        return this.#settle(frame.requestId);
      case 'error': {
        const { code, requestId, message } = frame;
        if (requestId !== undefined && this.#pending.has(requestId)) {
          return this.#settle(
            requestId,
            new ServerRequestError(
              message === undefined ? { code, requestId } : { code, requestId, message },
            ),
          );
        }
        if (code === 'unknown_type' && requestId === undefined) return;
        return this.#emit(
          new ServerError({ code, message: message ?? null, requestId: requestId ?? null }),
        );
      }
      case 'message':
        return this.#emit(
          new Message({
            channel: frame.channel,
            senderPeerId: frame.from,
            data: frame.data,
            senderMetadata: frame.fromMetadata ?? null,
          }),
        );
      case 'direct':
        return this.#emit(
          new Direct({
            senderPeerId: frame.from,
            data: frame.data,
            senderMetadata: frame.fromMetadata ?? null,
          }),
        );
      case 'presence': {
        const peers = (list: typeof frame.joined) =>
          Object.freeze(
            list.map(({ peerId, metadata }) =>
              Object.freeze({ peerId, metadata: metadata ?? null }),
            ),
          );
        return this.#emit(
          new Presence({
            channel: frame.channel,
            joined: peers(frame.joined),
            left: peers(frame.left),
          }),
        );
      }
      case 'going_away':
        return this.#emit(new GoingAway({ retryAfterMs: frame.retryAfterMs ?? 1000 }));
      case 'pong':
        return;
    }
  }

  #welcome(frame: WelcomeFrame): void {
    if (this.#currentState === 'connected' || !this.#socket) {
      return this.#log('warn', 'unexpected welcome ignored');
    }
    this.#clearTimer(this.#welcomeTimer);
    const isReconnect = this.#welcomed;
    this.#welcomed = true;
    this.#attempts = 0;
    this.#setState('connected');
    this.#watch();
    this.#emit(
      new Connected({
        peerId: frame.peerId,
        serverTime: frame.serverTime,
        expiresAt: frame.expiresAt,
        isReconnect,
        maxMessageSize: frame.maxMessageSize,
        iceServers: parseIceServers(frame.metadata?.iceServers),
      }),
    );
    if (isReconnect && this.#autoResubscribe) {
      for (const [channel, flag] of this.#subscriptions) this.#resubscribe(channel, flag, 0);
    }
    // A listener that closed the client has already settled the waiter.
    if (this.#connectWaiter) {
      this.#connectWaiter.resolve();
      this.#connectWaiter = undefined;
      this.#markSettled();
    }
  }

  #resubscribe(channel: string, flag: boolean, retry: number): void {
    const generation = this.#generation;
    this.#request((requestId) => encodeSubscribe(channel, requestId, flag)).catch(
      (error: unknown) => {
        if (generation !== this.#generation || this.#currentState !== 'connected') return;
        this.#log('warn', `resubscribe to ${channel} failed: ${String(error)}`);
        if (retry < RESUBSCRIBE_RETRIES) {
          this.#timer(() => {
            const current = this.#subscriptions.get(channel);
            if (current !== undefined && generation === this.#generation) {
              this.#resubscribe(channel, current, retry + 1);
            }
          }, RESUBSCRIBE_RETRY_MS);
        }
      },
    );
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
      if (now - this.#lastFrameAt >= timeout) return this.#drop(4000, 'inactivity timeout');
      if (now - Math.max(this.#lastFrameAt, this.#lastPingAt) >= interval) {
        this.#lastPingAt = now;
        this.#socket?.send(PING_FRAME);
      }
      const quietSince = Math.max(this.#lastFrameAt, this.#lastPingAt);
      this.#watchdogTimer = this.#timer(
        check,
        Math.min(this.#lastFrameAt + timeout, quietSince + interval) - now,
      );
    };
    this.#watchdogTimer = this.#timer(check, interval);
  }

  // ---- requests ----

  #request(build: (requestId: string) => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const requestId = createRequestId();
      const frame = build(requestId);
      const socket = this.#socket;
      if (this.#currentState !== 'connected' || !socket) {
        throw new SignallingError({ message: 'not connected' });
      }
      socket.send(frame);
      const timeout = PROTOCOL_TIMEOUTS.ackTimeoutMs;
      const timer = this.#timer(() => {
        this.#pending.delete(requestId);
        reject(new AckTimeoutError({ requestId, timeout }));
      }, timeout);
      this.#pending.set(requestId, { resolve, reject, timer });
    });
  }

  #settle(requestId: string, error?: unknown): void {
    const request = this.#pending.get(requestId);
    if (!request) return;
    this.#pending.delete(requestId);
    this.#clearTimer(request.timer);
    if (error) request.reject(error);
    else request.resolve();
    this.#markSettled();
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
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  #setState(to: SignallingState): void {
    const from = this.#currentState;
    if (from === to) return;
    this.#currentState = to;
    this.#emit(new StateChange({ from, to }));
  }

  #emit(event: SignallingEvent): void {
    this.#emitter.emit(event);
  }

  #log(level: keyof SignallingLogger, message: string): void {
    this.#logger?.[level]?.(redactSecrets(message));
  }
}
