// One client socket, over 450 lines because its states (authenticating → open → closing →
// closed) are shared by its inbound queue, its outbound writes and bounds, and its close paths,
// which all have to agree on them; the pieces without state (queue, coalescing, caps) live apart,
// the resume extension in connection-resume.ts.
import { randomUUID } from 'node:crypto';
import { WsCloseCode } from '@metered/errors';
import { encodeGoingAway, encodeWelcome, type JsonObject } from '@metered/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AppRegistry } from './app-registry.js';
import { TOKEN_EXPIRY_MARGIN_MS, type ConnectionIdentity } from './auth.js';
import {
  isPromise,
  type Broker,
  type BrokerConnection,
  type MaybePromise,
} from './broker/broker.js';
import {
  BROKER_UNAVAILABLE_CLOSE_CODE,
  BrokerUnavailableError,
} from './broker/broker-unavailable.js';
import { ClientFrameHandler } from './client-frame-handler.js';
import type { AppConfig } from './config.js';
import type { ReplaySource } from './history/history-types.js';
import { OutboundReplay } from './outbound-replay.js';
import { InboundQueue } from './inbound-queue.js';
import type { ConnectionLimits } from './config.js';
import { MessageRateLimiter } from './message-rate-limiter.js';
import type { ServerMetrics } from './metrics.js';
import type { OutboundHolder, OutboundMemoryCap } from './outbound-memory-cap.js';
import type { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';
import {
  afterDrain,
  coalesceWrites,
  flushNow,
  type CorkableTransport,
  type OutboundFrame,
} from './outbound.js';
import { ConnectionResume } from './connection-resume.js';
import { holdsSessionAfter } from './session-hold.js';
import { welcomeExtensions, type ExtensionSettings } from './welcome-extensions.js';

/** Close code for a socket whose outbound buffer stays over the bound (a slow consumer). */
export const SLOW_CONSUMER_CLOSE_CODE = WsCloseCode.POLICY_VIOLATION;

/**
 * Close code for a socket whose frames wait behind one the broker has not answered, over
 * `connections.maxQueuedInboundBytes` or twice the app's `messageBurst` (a slow Redis): try again
 * later, as when the broker is unavailable.
 */
export const INBOUND_QUEUE_FULL_CLOSE_CODE = BROKER_UNAVAILABLE_CLOSE_CODE;

/** Close code for an unexpected server fault while handling a frame. */
const INTERNAL_ERROR_CLOSE_CODE = 1011;

/** Longest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/** `ws` send options for every frame: text, even when the frame is already bytes. */
const TEXT_FRAME = Object.freeze({ binary: false });

/** What a connection needs from the server around it. */
export interface ConnectionContext {
  readonly broker: Broker;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** The app's current configuration (it changes on reload). */
  readonly app: (appId: string) => AppConfig | undefined;
  /** Bound of a socket's outbound buffer (`ws.bufferedAmount`), in bytes. */
  readonly maxOutboundBufferBytes: number;
  /** Each app's publish bandwidth on this node. */
  readonly publishBandwidth: PublishBandwidthLimiter;
  /** The node's limits against exhaustion (they change on reload). */
  readonly connectionLimits: () => ConnectionLimits;
  /** What every socket of the node may hold unsent. */
  readonly outboundMemory: OutboundMemoryCap;
  /** The socket got its `welcome`. */
  readonly onWelcomed: (connection: Connection) => void;
  readonly onClosed: (connection: Connection) => void;
  /** The apps and keys in force (a `refresh` token is verified against them). */
  readonly registry: () => AppRegistry;
  /** Server-level extension settings (they change on reload). */
  readonly settings: () => ExtensionSettings;
}

type ConnectionState = 'authenticating' | 'establishing' | 'open' | 'closing' | 'closed';

/** One client socket: authentication outcome, frame handling, limits, and its broker membership. */
export class Connection implements BrokerConnection, OutboundHolder {
  /** Unique across nodes; a resumed connection takes the held session's. */
  private connectionId: string = randomUUID();
  private state: ConnectionState = 'authenticating';
  private identity: ConnectionIdentity | undefined;
  private frames: ClientFrameHandler | undefined;
  private readonly rate = new MessageRateLimiter();
  private readonly inbound = new InboundQueue();
  private readonly outboundBeforeWelcome: OutboundFrame[] = [];
  private processing = false;
  private attached = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closeCode: number | undefined;
  /** Cleared by each heartbeat, set again by the client's pong or any frame. */
  private alive = true;
  /** Set by {@link finishAndClose}: called once every received frame has been answered. */
  private onIdle: (() => void) | undefined;
  /** A recovery replay being written, and the frames waiting behind it. */
  private replay: OutboundReplay | undefined;
  /** Extension `resume`: this connection's credential, claim and hold. */
  private readonly resume: ConnectionResume;

  /**
   * @param transport the socket's TCP stream (the upgrade's), corked while a turn of the event
   *   loop writes to it so that its frames leave together; without it every frame is written alone.
   */
  constructor(
    private readonly socket: WebSocket,
    private readonly context: ConnectionContext,
    private readonly transport?: CorkableTransport,
  ) {
    this.resume = new ConnectionResume(this, context);
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('close', (code) => this.onSocketClosed(code));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('error', (error) => {
      this.context.logger.debug({ err: error, connection: this.id }, 'socket error');
    });
  }

  get id(): string {
    return this.connectionId;
  }

  get appId(): string {
    return this.identity?.app.id ?? '';
  }

  get peerId(): string {
    return this.identity?.peerId ?? '';
  }

  get peerMetadata(): JsonObject | undefined {
    return this.identity?.peerMetadata;
  }

  get visibleInPresence(): boolean {
    return this.identity?.permissions.has('presence') ?? false;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Who the connection authenticated as, once it has. */
  get authenticatedAs(): ConnectionIdentity | undefined {
    return this.identity;
  }

  /** The close code the server chose, when it closed the socket. */
  get serverCloseCode(): number | undefined {
    return this.closeCode;
  }

  private get appConfig(): AppConfig | undefined {
    return this.identity
      ? (this.context.app(this.identity.app.id) ?? this.identity.app)
      : undefined;
  }

  /**
   * Runs the checks that follow authentication (suspension, concurrent cap), joins the broker and
   * sends `welcome`. Frames that arrived meanwhile are handled after it, in order. With
   * `resumeToken` (extension `resume`) it takes over the session held under it, when the token
   * is valid for this app and credential; otherwise it starts fresh, as without it.
   */
  async establish(identity: ConnectionIdentity, resumeToken?: string): Promise<void> {
    if (this.state !== 'authenticating') return;
    this.identity = identity;
    this.state = 'establishing';
    const app = this.appConfig ?? identity.app;
    if (app.suspended) {
      this.close(WsCloseCode.ACCOUNT_SUSPENDED, 'app suspended');
      return;
    }
    const { broker } = this.context;
    const acquired = await broker.acquireConnection(app.id, app.plan.maxConcurrentConnections);
    if (!acquired) {
      this.close(WsCloseCode.OVER_CONCURRENT_LIMIT, 'over the concurrent connection limit');
      return;
    }
    if (this.state !== 'establishing') {
      await broker.releaseConnection(app.id);
      return;
    }
    const claimed =
      resumeToken === undefined
        ? undefined
        : await this.resume.claim(resumeToken, identity, ({ connectionId, peerId }) => {
            this.connectionId = connectionId;
            this.identity = { ...identity, peerId };
            return this;
          });
    if (claimed === undefined) await broker.attach(this);
    this.attached = true;
    if (this.state !== 'establishing') {
      this.attached = false;
      await broker.detach(this);
      return;
    }
    const current = this.identity;

    const now = this.context.now();
    this.rate.start(app.limits, now);
    this.frames = new ClientFrameHandler({
      connection: this,
      identity: current,
      app: () => this.appConfig ?? current.app,
      broker,
      metrics: this.context.metrics,
      now: () => this.context.now(),
      publishBandwidth: this.context.publishBandwidth,
      replay: (source) => this.startReplay(source),
      registry: this.context.registry,
      extensions: () => this.context.settings().extensions,
      onRefreshed: (next) => this.onRefreshed(next),
      issueResumeToken: () => this.resume.issue(this.identity as ConnectionIdentity),
      isOpen: () => this.state === 'open',
      fail: (error) => this.fail(error),
    });
    let metadata = identity.metadata;
    if (app.iceServers.length > 0 && (metadata === undefined || !('iceServers' in metadata))) {
      metadata = { ...metadata, iceServers: app.iceServers as unknown as JsonObject[] };
    }
    const settings = this.context.settings();
    this.write(
      encodeWelcome({
        peerId: current.peerId,
        expiresAt: current.expiresAt,
        serverTime: now,
        maxMessageSize: app.limits.maxMessageSize,
        metadata,
        extensions: welcomeExtensions(
          {
            ...settings,
            extensions: { ...settings.extensions, resume: this.resume.served },
          },
          app,
          claimed !== undefined,
        ),
      }),
    );
    this.state = 'open';
    this.context.onWelcomed(this);
    this.context.metrics.connectsTotal.inc({ outcome: 'welcome' });
    this.context.metrics.connections.inc({ app: app.id });
    if (claimed !== undefined) {
      for (const frame of claimed.directs) this.write(frame);
      if (claimed.channels.length > 0) this.adoptHeldChannels(claimed.channels);
    }
    for (const frame of this.outboundBeforeWelcome.splice(0)) this.deliver(frame);
    this.scheduleExpiry();
    this.drain();
  }

  /**
   * A resumed session's channels: still subscribed, silent until subscribed again; those not
   * subscribed again within `HELD_CHANNEL_GRACE_MS` are left (members hear `left`).
   */
  private adoptHeldChannels(channels: readonly string[]): void {
    const frames = this.frames as ClientFrameHandler;
    frames.adoptHeldChannels(channels).catch((error: unknown) => this.fail(error));
    this.resume.startGrace(() => {
      if (this.state !== 'open') return;
      frames.leaveHeldChannels().catch((error: unknown) => this.fail(error));
    });
  }

  /** Extension `refresh`: the connection runs under a new token; its expiry moves. */
  private onRefreshed(identity: ConnectionIdentity): void {
    this.identity = identity;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.scheduleExpiry();
  }

  // ---- inbound ----

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.alive = true;
    if (isBinary) {
      this.close(WsCloseCode.POLICY_VIOLATION, 'binary frames are not accepted');
      return;
    }
    const app = this.appConfig;
    if (app && data.byteLength > app.limits.maxMessageSize) {
      this.close(WsCloseCode.MESSAGE_TOO_BIG, 'frame exceeds maxMessageSize');
      return;
    }
    if (
      !this.rate.admit(this.context.now(), this.inbound.length, app?.limits.messageBurst ?? 200)
    ) {
      this.close(WsCloseCode.OVER_MESSAGE_RATE, 'over the message rate');
      return;
    }
    // Before the welcome the rate limiter already holds the queue to `messageBurst` frames.
    const maxFrames = app === undefined ? undefined : 2 * app.limits.messageBurst;
    const maxBytes = this.context.connectionLimits().maxQueuedInboundBytes;
    // Frames handled whose answer is not written yet (pipelined) still count.
    const inFlight = this.frames?.inFlight;
    if (!this.inbound.hasRoomFor(data.byteLength, maxBytes, maxFrames, inFlight)) {
      this.close(INBOUND_QUEUE_FULL_CLOSE_CODE, 'server busy: too many frames waiting');
      return;
    }
    this.inbound.push(data);
    if (this.state === 'open') this.drain();
  }

  /**
   * Handles queued frames in order; a frame whose handling waits on the broker holds the rest
   * (a pipelined publish or send does not: its answer comes in order, see ClientFrameHandler).
   */
  private drain(): void {
    while (!this.processing && this.state === 'open' && this.inbound.length > 0) {
      const bytes = this.inbound.headBytes;
      const text = this.inbound.shift() as string;
      let result: MaybePromise<void>;
      try {
        result = (this.frames as ClientFrameHandler).handle(text, bytes);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (isPromise(result)) {
        this.processing = true;
        result.then(
          () => {
            this.processing = false;
            this.drain();
          },
          (error: unknown) => {
            this.processing = false;
            this.fail(error);
          },
        );
        return;
      }
    }
    if (!this.processing && this.inbound.length === 0 && this.onIdle !== undefined) {
      const inFlight = this.frames?.settled;
      if (inFlight !== undefined) {
        // Idle once every frame is answered; a failure closes the socket (reported already).
        this.processing = true;
        const resume = (): void => {
          this.processing = false;
          this.drain();
        };
        inFlight.then(resume, resume);
        return;
      }
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }

  private fail(error: unknown): void {
    if (error instanceof BrokerUnavailableError) {
      // Redis went away mid-frame: the client reconnects once the broker is back.
      this.context.logger.warn({ err: error, connection: this.id }, 'broker unavailable');
      this.close(BROKER_UNAVAILABLE_CLOSE_CODE, 'broker unavailable, try again later');
      return;
    }
    this.context.logger.error({ err: error, connection: this.id }, 'frame handling failed');
    this.close(INTERNAL_ERROR_CLOSE_CODE, 'internal error');
  }

  // ---- outbound ----

  /**
   * Writes one frame, in order after every frame before it (frames written in one turn of the
   * event loop leave together). A socket whose outbound buffer is over the bound, once this
   * turn's held-back frames were offered to the kernel, is closed as a slow consumer instead.
   */
  deliver(frame: OutboundFrame): void {
    if (this.state !== 'open') {
      if (this.state === 'establishing') this.outboundBeforeWelcome.push(frame);
      return;
    }
    if (this.replay?.active === true ? !this.replay.hold(frame) : this.overOutboundBound()) {
      this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: outbound buffer full');
      return;
    }
    if (this.replay?.active !== true) this.write(frame);
  }

  /** {@link BrokerConnection.deliverInPages}: frames a broker caught up on, written as a replay. */
  deliverInPages(frames: Iterator<OutboundFrame>): void {
    this.startReplay(frames);
  }

  /**
   * Writes a recovery replay after every frame written so far, in pages within the outbound
   * bound; frames delivered meanwhile follow it.
   */
  private startReplay(source: ReplaySource): void {
    if (this.state !== 'open') return;
    this.replay ??= new OutboundReplay(
      {
        write: (frame) => this.write(frame),
        buffered: () => this.socket.bufferedAmount,
        waitForDrain: (resume) => afterDrain(this.transport, resume),
        fail: (error) => this.fail(error),
      },
      this.context.maxOutboundBufferBytes,
    );
    this.replay.start(source);
  }

  /**
   * True when the socket's outbound buffer is over the bound. Frames held back in this turn count
   * only once the kernel has refused them: over the bound, they are handed to it first, so a
   * burst that a reading client takes in is never mistaken for a slow consumer.
   */
  private overOutboundBound(): boolean {
    const bound = this.context.maxOutboundBufferBytes;
    if (this.socket.bufferedAmount <= bound) return false;
    if (this.transport !== undefined) flushNow(this.transport);
    return this.socket.bufferedAmount > bound;
  }

  private write(frame: OutboundFrame): void {
    if (this.transport !== undefined) coalesceWrites(this.transport);
    this.socket.send(frame, TEXT_FRAME);
    this.context.outboundMemory.record(this, this.socket.bufferedAmount);
  }

  /** {@link OutboundHolder}: unsent bytes, once this turn's held-back frames were offered. */
  unsentBytes(): number {
    if (this.transport !== undefined) flushNow(this.transport);
    return this.socket.bufferedAmount;
  }

  /** {@link OutboundHolder}: the server closed the socket and awaits its closing handshake. */
  get isClosing(): boolean {
    return this.state === 'closing';
  }

  /**
   * {@link OutboundHolder}: the node's outbound memory is full and this socket holds the most.
   * Closed as a slow consumer (1008) and dropped at once, so that what it holds is freed now
   * rather than after its closing handshake: its client, which has not read its backlog, sees
   * the connection end (1006).
   */
  shedAsSlowConsumer(): void {
    this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: server outbound memory full');
    this.socket.terminate();
  }

  /**
   * Graceful shutdown, first step: `going_away {retryAfterMs}`. The server sends it to every
   * socket before closing any, so no member hears another one leave before its own notice.
   */
  announceGoingAway(retryAfterMs: number): void {
    if (this.state === 'open') this.write(encodeGoingAway(retryAfterMs));
  }

  /**
   * Graceful shutdown, last step: stops reading the socket, answers every frame already received
   * (in order, through the broker), then closes with `code`. Frames the client sends meanwhile
   * stay unread in the kernel: the server never received them, and the client learns so from
   * the close, and what it sent before seeing the close is discarded. Resolves once the close
   * was asked for.
   */
  finishAndClose(code: number, reason: string): Promise<void> {
    if (this.state !== 'open') {
      this.close(code, reason);
      return Promise.resolve();
    }
    this.socket.pause();
    return new Promise<void>((resolve) => {
      this.onIdle = () => {
        this.close(code, reason);
        // Reading again lets the client's closing frame in; frames before it are discarded.
        this.socket.resume();
        resolve();
      };
      if (!this.processing) this.drain();
    });
  }

  /** Closes the socket with a code; the connection leaves the broker at once. Idempotent. */
  close(code: number, reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    this.closeCode = code;
    this.context.metrics.closesTotal.inc({ code: String(code) });
    if (!wasOpen) this.context.metrics.connectsTotal.inc({ outcome: String(code) });
    this.context.logger.debug(
      { connection: this.id, app: this.identity?.app.id, code, reason },
      'closing socket',
    );
    this.leaveBroker(wasOpen, holdsSessionAfter({ serverCode: code }));
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }

  /**
   * One WebSocket-level heartbeat: a socket that neither answered the previous ping nor sent a
   * frame since is dropped (its peer leaves presence); the others are pinged again. Browsers
   * answer pings by themselves, so this finds dead TCP connections without any client code.
   */
  heartbeat(): void {
    if (this.state === 'closed') return;
    if (!this.alive) {
      this.context.logger.debug({ connection: this.id }, 'no pong: dropping socket');
      this.leaveBroker(this.state === 'open', true);
      this.state = 'closing';
      this.socket.terminate();
      return;
    }
    this.alive = false;
    try {
      this.socket.ping();
    } catch {
      // the socket is closing; its close event cleans up
    }
  }

  /** Drops the socket without a closing handshake (after the drain timeout). */
  terminate(): void {
    this.socket.terminate();
  }

  private onSocketClosed(clientCode: number): void {
    const wasOpen = this.state === 'open';
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.leaveBroker(wasOpen, holdsSessionAfter({ clientCode }));
    this.context.outboundMemory.forget(this);
    this.context.onClosed(this);
  }

  /**
   * Leaves the broker: detached (members hear `left`), or held for a resume when the session
   * negotiated one and `mayHold` (the close was not a clean or terminal one).
   */
  private leaveBroker(wasOpen: boolean, mayHold: boolean): void {
    this.inbound.clear();
    this.replay?.close();
    this.resume.clear();
    const idle = this.onIdle;
    this.onIdle = undefined;
    idle?.();
    this.outboundBeforeWelcome.length = 0;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (wasOpen && this.identity)
      this.context.metrics.connections.dec({ app: this.identity.app.id });
    const report = (error: unknown): void =>
      this.context.logger.error({ err: error, connection: this.id }, 'broker detach failed');
    if (this.attached) {
      this.attached = false;
      try {
        const result = this.resume.leave(this.identity, mayHold);
        if (isPromise(result)) result.catch(report);
      } catch (error) {
        report(error);
      }
    }
  }

  private scheduleExpiry(): void {
    const expiresAt = this.identity?.expiresAt;
    if (expiresAt === null || expiresAt === undefined) return;
    const delay = expiresAt * 1000 - TOKEN_EXPIRY_MARGIN_MS - this.context.now();
    if (delay <= 0) {
      this.close(WsCloseCode.TOKEN_EXPIRED, 'token expired');
      return;
    }
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        if (this.state === 'open') this.scheduleExpiry();
      },
      Math.min(delay, MAX_TIMER_MS),
    );
  }
}
