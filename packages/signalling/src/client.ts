// The client's state machine: the public API, connection attempts, reconnects, the welcome and
// the dispatch of inbound frames. It runs past 450 lines (about half of them comments) because
// these share the connection's state (its socket, timers, pending requests, subscriptions and
// the welcome's extensions), and the bundle budget favours one class; each concept they lean
// on has its own file: `pending-requests.ts`, `keepalive.ts`, `inbound-queue.ts`,
// `inbound-events.ts`, `token-provider.ts`, `token-refresh.ts`, `stream-position.ts`,
// `request-arguments.ts`, and the frame check and encoders of `@metered/protocol`. The protocol extensions (`docs/protocol.md`, "Extensions") are used only
// when the welcome advertises them: `recovery` (positions, `since`), `resume` (`session`, the
// `resume` URL parameter), `refresh` (`refresh` before expiry), `idempotency` (`idempotencyKey`).
import {
  isTerminalCloseCode,
  OVER_CONCURRENT_LIMIT_FLOOR_MS,
  redactSecrets,
  ServerRequestError,
  type ServerRequestErrorOptions,
  SignallingConnectError,
  SignallingError,
} from '@metered/errors';
import {
  type AckFrame,
  encodePublish,
  encodeRefresh,
  encodeSend,
  encodeSession,
  encodeSubscribe,
  encodeUnsubscribe,
  MAX_SERVER_FRAME_LENGTH,
  parseIceServers,
  type ServerFrame,
  type StreamPosition,
  validateServerFrame,
  type WelcomeExtensions,
  type WelcomeFrame,
  WELCOME_TIMEOUT_MS,
} from '@metered/protocol';
import {
  StreamingEmitter as Emitter,
  type EventClass,
  type EventHandler,
  type EventStreamOptions,
} from '@metered/events';
import {
  Connected,
  Disconnected,
  Resubscribed,
  ServerError,
  type SignallingEvent,
  type SignallingState,
  StateChange,
  SubscriptionEnded,
  TokenProviderError,
} from './events.js';
import { directEvent, goingAwayEvent, InboundMessage, presenceEvent } from './inbound-events.js';
import { InboundQueue } from './inbound-queue.js';
import { startKeepalive } from './keepalive.js';
import {
  checkOptions,
  DEFAULT_AUTO_RESUBSCRIBE,
  DEFAULT_URL,
  parseOrigin,
  type PublishOptions,
  type PublishResult,
  type RecoverOptions,
  type RecoveringSubscribeOptions,
  type SignallingClientOptions,
  type SignallingLogger,
  type SubscribeOptions,
  type SubscribeResult,
} from './options.js';
import { PendingRequests } from './pending-requests.js';
import { checkChannel, checkData, checkPeerId, withData } from './request-arguments.js';
import {
  reconnectDelay,
  type ReconnectPolicy,
  resolveReconnectPolicy,
} from './reconnect-policy.js';
import { toPosition } from './stream-position.js';
import { TimerSet, type Timer } from './timer-set.js';
import { fetchToken, TOKEN_PROVIDER_STUCK_FAILURES } from './token-provider.js';
import { REFRESH_RETRIES, refreshDelay } from './token-refresh.js';
import { defaultWebSocketFactory, releaseSocket, type WebSocketLike } from './websocket.js';

declare global {
  // The declarations name `Symbol.asyncDispose` (`await using`). It is in TypeScript's
  // `esnext.disposable` lib and in `@types/node`; this makes it known to an app compiled with an
  // older `lib` too (TypeScript merges the declarations). Types only: nothing changes at run time.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** A channel the client keeps subscribed (replayed after a reconnect). */
interface Subscription {
  readonly includeSenderMetadata: boolean;
  /** Subscribed with `recover` or `since`: `position` is held and sent as `since`. */
  readonly recover: boolean;
  /** Of the last message received, or from the subscribe's ack (extension `recovery`). */
  position: StreamPosition | undefined;
}

/** Settles what `connect()` returns: resolves without an error, rejects with one. */
type Settle = (error?: unknown) => void;

/** The socket closed: its code and reason, queued behind its frames. */
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
const CLIENT_CLOSED = 'client closed';

const noop = (): void => {};

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
 *
 * A request with a bad argument (channel name, peer id, data) rejects with the
 * `ServerRequestError` the server would have answered, `requestId` `null`, and sends nothing.
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
  readonly #autoResubscribe: boolean;

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
  readonly #pending = new PendingRequests();
  /** Active channels, replayed after a reconnect. */
  readonly #subscriptions = new Map<string, Subscription>();
  /** What the last welcome advertised. */
  #extensions: WelcomeExtensions = {};
  /** The server's clock minus the local one, at the last welcome. */
  #clockOffset = 0;
  /** Extension `resume`: the credential for the next automatic reconnect, used once. */
  #resumeToken: string | undefined;
  /** Every running timer but the ack timers: the ones of a connection stop when it ends, all on `close()`. */
  readonly #timers = new TimerSet();
  #welcomeTimer: Timer | undefined;
  #lastFrameAt = 0;
  /** The frames and the close of the current socket, in wire order. */
  readonly #inbound = new InboundQueue<string | CloseRecord>((item) =>
    typeof item === 'string' ? this.#handle(item) : this.#closed(item.code, item.reason),
  );
  /** Stops the token provider of the attempt or refresh in progress. */
  #cancelToken: ((reason: string) => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SignallingClientOptions) {
    [this.#inactivityTimeoutMs, this.#tokenProviderTimeoutMs] = checkOptions(options);
    this.#options = { ...options };
    this.#url = parseOrigin(options.url ?? DEFAULT_URL);
    this.#policy = resolveReconnectPolicy(options.reconnect);
    this.#autoResubscribe = options.autoResubscribe ?? DEFAULT_AUTO_RESUBSCRIBE;
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
      releaseSocket(socket, code, reason);
      // `releaseSocket` closed the socket (maybe synchronously): wait for its close event if still due.
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
   * The extensions the server advertised in its last welcome (`docs/protocol.md`,
   * "Extensions"); `{}` before the first welcome and for a server that offers none.
   */
  get extensions(): WelcomeExtensions {
    return this.#extensions;
  }

  /**
   * The position held for a channel subscribed with `recover` or `since` (extension
   * `recovery`): of the last message received, else the channel's when subscribed. Store it to
   * subscribe with `since` after a restart. `undefined` when none is held.
   */
  position(channel: string): StreamPosition | undefined {
    return this.#subscriptions.get(channel)?.position;
  }

  /**
   * Subscribes to a channel; resolves on the server's ack. The channel is replayed after every
   * reconnect until {@link SignallingClient.unsubscribe}. With `recover` or `since` it resolves
   * to a {@link SubscribeResult} and recovers missed messages after every reconnect when the
   * server has the `recovery` extension.
   */
  subscribe(channel: string, options: RecoveringSubscribeOptions): Promise<SubscribeResult>;
  /** Subscribes to a channel without recovery; resolves on the server's ack. */
  subscribe(channel: string, options?: SubscribeOptions): Promise<void>;
  async subscribe(channel: string, options: RecoverOptions = {}): Promise<SubscribeResult | void> {
    checkChannel(channel);
    const { signal, since } = options;
    signal?.throwIfAborted();
    const subscriptions = this.#subscriptions;
    const known = subscriptions.get(channel);
    const recover = options.recover === true || since !== undefined;
    const subscription: Subscription = {
      includeSenderMetadata: options.includeSenderMetadata === true,
      recover,
      position: toPosition(since) ?? (recover ? known?.position : undefined),
    };
    if (this.#state === 'connected') subscriptions.set(channel, subscription);
    let request = this.#subscribe(channel, subscription);
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
      const recovered = await request;
      if (recover || options.recover === false) {
        return { recovered, position: subscription.position ?? null };
      }
    } catch (error) {
      if (!known && error instanceof ServerRequestError) subscriptions.delete(channel);
      throw error;
    }
  }

  /** Unsubscribes from a channel (it is no longer replayed, even when this call fails). */
  async unsubscribe(channel: string): Promise<void> {
    checkChannel(channel);
    this.#subscriptions.delete(channel);
    await this.#request((requestId) => encodeUnsubscribe(channel, requestId));
  }

  /**
   * Publishes `data` (any JSON value, `null` included) to a channel; resolves on the ack. With
   * {@link PublishOptions} it resolves to a {@link PublishResult}.
   */
  publish(channel: string, data: unknown): Promise<void>;
  /** Publishes with an idempotency key: resolves to whether the server saw it before. */
  publish(channel: string, data: unknown, options: PublishOptions): Promise<PublishResult>;
  async publish(
    channel: string,
    data: unknown,
    options?: PublishOptions,
  ): Promise<PublishResult | void> {
    checkChannel(channel);
    checkData(data);
    return this.#publish(options, (requestId, key) => encodePublish(channel, data, requestId, key));
  }

  /**
   * Sends `data` to one peer; resolves on the ack. With {@link PublishOptions} it resolves to a
   * {@link PublishResult}.
   */
  send(peerId: string, data: unknown): Promise<void>;
  /** Sends with an idempotency key: resolves to whether the server saw it before. */
  send(peerId: string, data: unknown, options: PublishOptions): Promise<PublishResult>;
  async send(
    peerId: string,
    data: unknown,
    options?: PublishOptions,
  ): Promise<PublishResult | void> {
    checkPeerId(peerId);
    checkData(data);
    return this.#publish(options, (requestId, key) => encodeSend(peerId, data, requestId, key));
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
      let query = `key=${encodeURIComponent(apiKey as string)}`;
      if (provider) query = `token=${encodeURIComponent(await this.#fetchToken(provider))}`;
      this.#tokenFailures = 0;
      if (stale()) return;
      failure = undefined;
      const resume = this.#resumeToken;
      this.#resumeToken = undefined;
      if (resume) query += `&resume=${encodeURIComponent(resume)}`;
      const url = `${this.#url}/v1?${query}`;
      this.#log('debug', `opening ${url}`);
      socket = (webSocketFactory ?? (await defaultWebSocketFactory()))(url);
    } catch (error) {
      if (stale()) return;
      const reason = failure ?? 'cannot open a socket';
      this.#log(failure ? 'warn' : 'error', `${reason}: ${String(error)}`);
      if (failure) {
        const consecutiveFailures = ++this.#tokenFailures;
        this.#emitter.emit(new TokenProviderError({ consecutiveFailures, err: error }));
        // A listener may have closed the client.
        if (stale()) return;
        if (consecutiveFailures >= TOKEN_PROVIDER_STUCK_FAILURES) {
          return this.#finish(NO_SOCKET, 'token provider stuck', true, error);
        }
      }
      return this.#closed(NO_SOCKET, reason, error);
    }
    if (stale()) return releaseSocket(socket, 1000);
    this.#socket = socket;
    this.#welcomeTimer = this.#timers.set(
      () => this.#drop(4000, 'welcome timeout'),
      WELCOME_TIMEOUT_MS,
    );
    socket.onmessage = ({ data }) => {
      if (typeof data !== 'string') return this.#log('warn', 'binary frame dropped');
      this.#lastFrameAt = Date.now();
      this.#inbound.push(data);
    };
    socket.onclose = ({ code, reason }) => this.#inbound.push({ code, reason });
    socket.onerror = () => this.#log('debug', 'socket error');
  }

  /** Closes the current socket from this side (watchdog, welcome timeout, oversized frame). */
  #drop(code: number, reason: string): void {
    this.#log('warn', `closing: ${reason}`);
    if (this.#socket) releaseSocket(this.#socket, code, reason);
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
    this.#timers.set(() => void this.#open(), delay);
  }

  /**
   * Ends the current connection: detaches its socket, drops its unhandled frames, rejects its
   * pending requests and stops every timer (welcome, watchdog, acks, resubscribe retries).
   */
  #stop(code: number): void {
    this.#cancelToken?.(CLIENT_CLOSED);
    this.#cancelToken = undefined;
    if (this.#socket) releaseSocket(this.#socket);
    this.#socket = undefined;
    this.#inbound.clear();
    this.#pending.disconnect(code);
    this.#timers.clearAll();
  }

  /** Enters `closed`: stops everything and emits the final `Disconnected` when `announce`. */
  #finish(code: number, reason: string, announce: boolean, cause?: unknown): void {
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    this.#generation++;
    this.#resumeToken = undefined;
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

  /** Validates one text frame and acts on it; a malformed frame is logged and dropped. */
  #handle(text: string): void {
    if (text.length > MAX_SERVER_FRAME_LENGTH) return this.#drop(1009, 'frame exceeded client cap');
    // A `ServerFrame` once `validateServerFrame` has accepted it.
    let frame!: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      // Reported below.
    }
    if (validateServerFrame(frame)) return this.#log('warn', 'malformed frame dropped');
    if (frame.type === 'welcome') return this.#welcome(frame);
    if (this.#state !== 'connected') return this.#log('warn', `${frame.type} before welcome`);
    switch (frame.type) {
      case 'message': {
        const position = toPosition(frame);
        const subscription = position && this.#subscriptions.get(frame.channel);
        if (subscription?.recover) {
          const held = subscription.position;
          const { offset, epoch } = position as StreamPosition;
          // Already delivered (a replay that overlaps): exactly once.
          if (held?.epoch === epoch && offset <= held.offset) return;
          subscription.position = position;
        }
        return this.#emitter.emit(new InboundMessage(frame, position));
      }
      case 'direct':
        return this.#emitter.emit(directEvent(frame));
      case 'presence':
        return this.#emitter.emit(presenceEvent(frame));
      case 'going_away':
        return this.#emitter.emit(goingAwayEvent(frame));
      case 'ack':
        return void this.#settle(frame.requestId, undefined, frame);
      case 'unsubscribed': {
        const { channel, code } = frame;
        this.#subscriptions.delete(channel);
        return this.#emitter.emit(new SubscriptionEnded({ channel, code }));
      }
      case 'error': {
        const { code } = frame;
        const requestId = typeof frame.requestId === 'string' ? frame.requestId : null;
        const message = typeof frame.message === 'string' ? frame.message : null;
        if (
          requestId !== null &&
          this.#settle(
            requestId,
            // A `null` message is the same as none: the class's own text.
            new ServerRequestError({ code, requestId, message } as ServerRequestErrorOptions),
          )
        ) {
          return;
        }
        if (code !== 'unknown_type' || requestId !== null) {
          this.#emitter.emit(new ServerError({ code, message, requestId }));
        }
        return;
      }
      case 'pong':
    }
  }

  #welcome(frame: WelcomeFrame): void {
    const socket = this.#socket;
    if (this.#state === 'connected' || !socket) {
      return this.#log('warn', 'unexpected welcome ignored');
    }
    this.#timers.clear(this.#welcomeTimer);
    const isReconnect = this.#welcomed;
    // `Object()`: an object as is, `{}` for none (the welcome's optional fields are unchecked).
    const { resume } = (this.#extensions = Object(frame.extensions) as WelcomeExtensions);
    this.#clockOffset = frame.serverTime - Date.now();
    this.#welcomed = true;
    this.#attempts = 0;
    this.#setState('connected');
    startKeepalive(
      this.#inactivityTimeoutMs,
      () => this.#lastFrameAt,
      socket,
      () => this.#drop(4000, 'inactivity timeout'),
      this.#timers,
    );
    if (resume) {
      this.#request(encodeSession).then(({ resumeToken }) => {
        this.#resumeToken = typeof resumeToken === 'string' ? resumeToken : undefined;
      }, noop);
    }
    this.#refresh(frame.expiresAt, 0);
    this.#emitter.emit(
      new Connected({
        peerId: frame.peerId,
        serverTime: frame.serverTime,
        expiresAt: frame.expiresAt,
        isReconnect,
        maxMessageSize: frame.maxMessageSize,
        iceServers: parseIceServers(frame.metadata?.iceServers),
        ...(resume && { resumed: resume.resumed === true }),
      }),
    );
    if (isReconnect && this.#autoResubscribe) {
      for (const [channel, subscription] of this.#subscriptions) {
        this.#resubscribe(channel, subscription, 0);
      }
    }
    // A listener that closed the client has already settled the waiter.
    const waiter = this.#connectWaiter;
    if (waiter) {
      this.#connectWaiter = undefined;
      waiter[1]();
      this.#inbound.markSettled();
    }
  }

  #resubscribe(channel: string, subscription: Subscription, retry: number): void {
    const generation = this.#generation;
    this.#subscribe(channel, subscription).then(
      (recovered) => this.#emitter.emit(new Resubscribed({ channel, recovered })),
      (error: unknown) => {
        if (generation !== this.#generation || this.#state !== 'connected') return;
        this.#log('warn', `resubscribe to ${channel} failed: ${String(error)}`);
        if (retry < RESUBSCRIBE_RETRIES) {
          this.#timers.set(() => {
            const current = this.#subscriptions.get(channel);
            if (current) this.#resubscribe(channel, current, retry + 1);
          }, RESUBSCRIBE_RETRY_MS);
        }
      },
    );
  }

  /**
   * Extension `refresh`: before a token that expires at `expiresAt` (Unix seconds, by the
   * server's clock) does, fetches a new one and hands it to the server, then again before the
   * new expiry. A failed fetch or a refused token is tried again, at most `REFRESH_RETRIES`
   * times in a row; after that the server closes with 4002 at expiry and the client reconnects.
   * Everything stops with the connection: its timer is in `#timers`, a fetch in progress is
   * cancelled, and a result that arrives for a connection that ended is dropped.
   */
  #refresh(expiresAt: unknown, failures: number): void {
    const provider = this.#options.tokenProvider;
    const socket = this.#socket;
    const left = (expiresAt as number) * 1000 - Date.now() - this.#clockOffset;
    if (!provider || !this.#extensions.refresh || failures > REFRESH_RETRIES || !(left > 0)) {
      return;
    }
    this.#timers.set(() => {
      this.#fetchToken(provider)
        .then(
          (token) => {
            if (socket !== this.#socket) return;
            return this.#request((requestId) => encodeRefresh(token, requestId));
          },
          (error: unknown) => {
            // The provider failed (a refused token is not its failure): reported as at connect.
            if (socket === this.#socket) {
              this.#emitter.emit(
                new TokenProviderError({ consecutiveFailures: failures + 1, err: error }),
              );
            }
            throw error;
          },
        )
        .then(
          (ack) => ack && this.#refresh(ack.expiresAt, 0),
          (error: unknown) => {
            if (socket !== this.#socket) return;
            this.#log('warn', `token refresh failed: ${String(error)}`);
            this.#refresh(expiresAt, failures + 1);
          },
        );
    }, refreshDelay(left));
  }

  // ---- requests ----

  #fetchToken(provider: NonNullable<SignallingClientOptions['tokenProvider']>): Promise<string> {
    return fetchToken(
      provider,
      this.#tokenProviderTimeoutMs,
      this.#timers,
      (cancel) => (this.#cancelToken = cancel),
    );
  }

  /**
   * Subscribes with `since` when the channel recovers and the server has `recovery`; resolves to
   * `recovered` (`true` only when `since` was sent and the ack says so). Otherwise the ack's
   * position (or none) becomes the one held.
   */
  async #subscribe(channel: string, subscription: Subscription): Promise<boolean> {
    const { includeSenderMetadata, recover } = subscription;
    const since = this.#extensions.recovery && recover ? subscription.position : undefined;
    const ack = await this.#request((requestId) =>
      encodeSubscribe(channel, requestId, includeSenderMetadata, since),
    );
    const recovered = since !== undefined && ack.recovered === true;
    if (recover && !recovered) subscription.position = toPosition(ack.position);
    return recovered;
  }

  /** A publish or send: `idempotencyKey` only for a server with `idempotency`. */
  async #publish(
    options: PublishOptions | undefined,
    encode: (requestId: string, idempotencyKey?: string) => string,
  ): Promise<PublishResult | undefined> {
    const key = this.#extensions.idempotency ? options?.idempotencyKey : undefined;
    const ack = await this.#request(withData((requestId) => encode(requestId, key)));
    return options && { duplicate: ack.duplicate === true };
  }

  /** Sends the frame `encode` builds for a fresh `requestId`; resolves with its ack. */
  #request(encode: (requestId: string) => string): Promise<AckFrame> {
    return this.#pending.send(this.#state === 'connected' ? this.#socket : undefined, encode);
  }

  /** An `ack` or a correlated `error` arrived: settles its request; `false` when none waits. */
  #settle(requestId: string, error?: unknown, ack?: AckFrame): boolean {
    const settled = this.#pending.settle(requestId, error, ack);
    if (settled) this.#inbound.markSettled();
    return settled;
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
