import { randomUUID } from 'node:crypto';
import { WsCloseCode, type ErrorCode } from '@metered/errors';
import {
  PONG_FRAME,
  encodeAck,
  encodeError,
  encodeGoingAway,
  encodePresence,
  encodeWelcome,
  parseClientFrame,
  type JsonObject,
  type PresenceMember,
  type PublishFrame,
  type SendFrame,
  type SubscribeFrame,
  type UnsubscribeFrame,
} from '@metered/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import {
  MAX_JSON_DEPTH,
  TOKEN_EXPIRY_MARGIN_MS,
  nestsDeeperThan,
  type ConnectionIdentity,
} from './auth.js';
import { isPromise, type Broker, type BrokerConnection, type MaybePromise } from './broker.js';
import { BROKER_UNAVAILABLE_CLOSE_CODE, BrokerUnavailableError } from './broker-unavailable.js';
import type { AppConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import {
  coalesceWrites,
  flushNow,
  type CorkableTransport,
  type OutboundFrame,
} from './outbound.js';
import { TokenBucket } from './rate-limiter.js';

/** Close code for a socket whose outbound buffer stays over the bound (a slow consumer). */
export const SLOW_CONSUMER_CLOSE_CODE = WsCloseCode.POLICY_VIOLATION;

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
  readonly onClosed: (connection: Connection) => void;
}

type ConnectionState = 'authenticating' | 'establishing' | 'open' | 'closing' | 'closed';

/** Chains a step after a value that may or may not be a promise, staying synchronous when it can. */
function andThen<T, R>(
  value: MaybePromise<T>,
  step: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return isPromise(value) ? value.then(step) : step(value);
}

/** The start of the quota period `now` falls in, Unix seconds (periods aligned to the epoch). */
export function periodStartOf(now: number, periodSeconds: number): number {
  const seconds = Math.floor(now / 1000);
  return seconds - (seconds % periodSeconds);
}

/** One client socket: authentication outcome, frame handling, limits, and its broker membership. */
export class Connection implements BrokerConnection {
  readonly id = randomUUID();
  private state: ConnectionState = 'authenticating';
  private identity: ConnectionIdentity | undefined;
  private readonly channels = new Set<string>();
  private bucket: TokenBucket | undefined;
  private readonly inbound: string[] = [];
  private readonly outboundBeforeWelcome: OutboundFrame[] = [];
  private processing = false;
  private acquired = false;
  private attached = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closeCode: number | undefined;
  /** Cleared by each heartbeat, set again by the client's pong or any frame. */
  private alive = true;

  /**
   * @param transport the socket's TCP stream (the upgrade's), corked while a turn of the event
   *   loop writes to it so that its frames leave together; without it every frame is written alone.
   */
  constructor(
    private readonly socket: WebSocket,
    private readonly context: ConnectionContext,
    private readonly transport?: CorkableTransport,
  ) {
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('close', () => this.onSocketClosed());
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('error', (error) => {
      this.context.logger.debug({ err: error, connection: this.id }, 'socket error');
    });
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
   * sends `welcome`. Frames that arrived meanwhile are handled after it, in order.
   */
  async establish(identity: ConnectionIdentity): Promise<void> {
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
    this.acquired = true;
    if (this.state !== 'establishing') {
      this.acquired = false;
      await broker.releaseConnection(app.id);
      return;
    }
    await broker.attach(this);
    this.attached = true;
    if (this.state !== 'establishing') {
      this.attached = false;
      await broker.detach(this);
      return;
    }

    const now = this.context.now();
    this.bucket = new TokenBucket(app.limits.messageBurst, app.limits.messagesPerSecond, now);
    let metadata = identity.metadata;
    if (app.iceServers.length > 0 && (metadata === undefined || !('iceServers' in metadata))) {
      metadata = { ...metadata, iceServers: app.iceServers as unknown as JsonObject[] };
    }
    this.write(
      encodeWelcome({
        peerId: identity.peerId,
        expiresAt: identity.expiresAt,
        serverTime: now,
        maxMessageSize: app.limits.maxMessageSize,
        metadata,
      }),
    );
    this.state = 'open';
    this.context.metrics.connectsTotal.inc({ outcome: 'welcome' });
    this.context.metrics.connections.inc({ app: app.id });
    for (const frame of this.outboundBeforeWelcome.splice(0)) this.deliver(frame);
    this.scheduleExpiry();
    this.drain();
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
    if (this.state === 'open') {
      if (!this.bucket?.tryTake(this.context.now())) {
        this.close(WsCloseCode.OVER_MESSAGE_RATE, 'over the message rate');
        return;
      }
    } else if (this.inbound.length >= (app?.limits.messageBurst ?? 200)) {
      this.close(WsCloseCode.OVER_MESSAGE_RATE, 'over the message rate');
      return;
    }
    this.inbound.push(data.toString('utf8'));
    if (this.state === 'open') this.drain();
  }

  /** Handles queued frames in order; a frame whose handling waits on the broker holds the rest. */
  private drain(): void {
    while (!this.processing && this.state === 'open' && this.inbound.length > 0) {
      const text = this.inbound.shift() as string;
      let result: MaybePromise<void>;
      try {
        result = this.handleText(text);
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

  private handleText(text: string): MaybePromise<void> {
    const identity = this.identity as ConnectionIdentity;
    if (
      identity.expiresAt !== null &&
      this.context.now() >= identity.expiresAt * 1000 - TOKEN_EXPIRY_MARGIN_MS
    ) {
      this.close(WsCloseCode.TOKEN_EXPIRED, 'token expired');
      return;
    }
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      const { rejection } = parsed;
      this.context.metrics.frameIn('rejected');
      if (rejection.action === 'close') this.close(rejection.closeCode, rejection.reason);
      else this.sendError(rejection.code, rejection.message, rejection.requestId);
      return;
    }
    const { frame } = parsed;
    // Every receiver gets `data` re-encoded, and encoding recurses: refuse what would overflow
    // the stack instead of failing later with an internal error. Nesting deeper than the limit
    // needs at least two characters per level, so short frames skip the walk.
    if (
      (frame.type === 'publish' || frame.type === 'send') &&
      text.length > 2 * MAX_JSON_DEPTH &&
      nestsDeeperThan(frame.data)
    ) {
      this.context.metrics.frameIn('rejected');
      return this.sendError(
        'malformed_message',
        `data nests deeper than ${MAX_JSON_DEPTH} levels`,
        frame.requestId,
      );
    }
    this.context.metrics.frameIn(frame.type);
    switch (frame.type) {
      case 'ping':
        this.deliver(PONG_FRAME);
        return;
      case 'subscribe':
        return this.subscribe(frame);
      case 'unsubscribe':
        return this.unsubscribe(frame);
      case 'publish':
        return this.publish(frame);
      case 'send':
        return this.send(frame);
      default: {
        const unknownFrame: never = frame;
        return unknownFrame;
      }
    }
  }

  private subscribe(frame: SubscribeFrame): MaybePromise<void> {
    const identity = this.identity as ConnectionIdentity;
    const { channel, requestId } = frame;
    if (!identity.permissions.has('subscribe')) {
      return this.sendError('action_not_permitted', 'subscribe is not permitted', requestId);
    }
    if (!identity.scope.allows(channel)) {
      return this.sendError('channel_not_authorized', 'channel not authorized', requestId);
    }
    const limit = this.appConfig?.limits.maxChannelsPerConnection ?? 100;
    if (!this.channels.has(channel) && this.channels.size >= limit) {
      return this.sendError(
        'channel_limit_exceeded',
        `at most ${limit} channels per connection`,
        requestId,
      );
    }
    this.channels.add(channel);
    return this.context.broker.subscribe(this, channel, {
      includeSenderMetadata: frame.includeSenderMetadata === true,
      beforeAnnounce: (members: readonly PresenceMember[]) => {
        if (requestId !== undefined) this.deliver(encodeAck(requestId));
        this.deliver(encodePresence(channel, members, []));
      },
    });
  }

  private unsubscribe(frame: UnsubscribeFrame): MaybePromise<void> {
    const { channel, requestId } = frame;
    const acknowledge = (): void => {
      if (requestId !== undefined) this.deliver(encodeAck(requestId));
    };
    if (!this.channels.delete(channel)) return acknowledge();
    return andThen(this.context.broker.unsubscribe(this, channel), acknowledge);
  }

  /** Counts a publish/send against the app's period quota. */
  private consumeQuota(): MaybePromise<boolean> {
    const app = this.appConfig as AppConfig;
    const periodStart = periodStartOf(this.context.now(), app.plan.periodSeconds);
    return andThen(
      this.context.broker.consumeMessage(app.id, periodStart, app.plan.maxMessagesPerPeriod),
      (result) => result.allowed,
    );
  }

  private publish(frame: PublishFrame): MaybePromise<void> {
    const identity = this.identity as ConnectionIdentity;
    const { channel, requestId } = frame;
    if (!identity.permissions.has('publish')) {
      return this.sendError('action_not_permitted', 'publish is not permitted', requestId);
    }
    if (!identity.scope.allows(channel)) {
      return this.sendError('channel_not_authorized', 'channel not authorized', requestId);
    }
    return andThen(this.consumeQuota(), (allowed) => {
      if (!allowed) {
        return this.sendError('over_message_quota', 'message quota exhausted', requestId);
      }
      return andThen(
        this.context.broker.publish(identity.app.id, {
          channel,
          from: identity.peerId,
          data: frame.data,
          fromMetadata: identity.peerMetadata,
          excludeConnectionId: this.id,
        }),
        () => {
          if (requestId !== undefined) this.deliver(encodeAck(requestId));
        },
      );
    });
  }

  private send(frame: SendFrame): MaybePromise<void> {
    const identity = this.identity as ConnectionIdentity;
    const { to, requestId } = frame;
    if (!identity.permissions.has('send')) {
      return this.sendError('action_not_permitted', 'send is not permitted', requestId);
    }
    if (to === identity.peerId) {
      return this.sendError('invalid_peer_id', 'cannot send to yourself', requestId);
    }
    return andThen(this.consumeQuota(), (allowed) => {
      if (!allowed) {
        return this.sendError('over_message_quota', 'message quota exhausted', requestId);
      }
      return andThen(
        this.context.broker.sendDirect(identity.app.id, {
          from: identity.peerId,
          to,
          data: frame.data,
          fromMetadata: identity.peerMetadata,
        }),
        (delivered) => {
          if (delivered === 0) {
            return this.sendError('peer_not_found', 'peer is not online', requestId);
          }
          if (requestId !== undefined) this.deliver(encodeAck(requestId));
        },
      );
    });
  }

  private sendError(code: ErrorCode, message: string, requestId: string | undefined): void {
    this.context.metrics.errorsTotal.inc({ code });
    this.deliver(encodeError(code, message, requestId));
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
    if (this.overOutboundBound()) {
      this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: outbound buffer full');
      return;
    }
    this.write(frame);
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
  }

  /**
   * Graceful shutdown, first step: `going_away {retryAfterMs}`. The server sends it to every
   * socket before closing any, so no member hears another one leave before its own notice.
   */
  announceGoingAway(retryAfterMs: number): void {
    if (this.state === 'open') this.write(encodeGoingAway(retryAfterMs));
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
    this.leaveBroker(wasOpen);
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
      this.leaveBroker(this.state === 'open');
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

  private onSocketClosed(): void {
    const wasOpen = this.state === 'open';
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.leaveBroker(wasOpen);
    this.context.onClosed(this);
  }

  private leaveBroker(wasOpen: boolean): void {
    this.inbound.length = 0;
    this.outboundBeforeWelcome.length = 0;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (wasOpen && this.identity)
      this.context.metrics.connections.dec({ app: this.identity.app.id });
    const { broker } = this.context;
    const report = (error: unknown): void =>
      this.context.logger.error({ err: error, connection: this.id }, 'broker detach failed');
    if (this.attached) {
      this.attached = false;
      this.acquired = false;
      try {
        const result = broker.detach(this);
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
