// Over 450 lines: every client frame type's checks and broker call, which share the identity,
// the channel set and the order their answers are written in (that order itself is kept in
// pipelined-answers.ts).
import { WsCloseCode, type ErrorCode } from '@metered/errors';
import {
  PONG_FRAME,
  encodeAck,
  encodeDirect,
  encodeError,
  encodeMessage,
  encodeUnsubscribed,
  parseClientFrame,
  utf8ByteLength,
  type PresenceMember,
  type PublishFrame,
  type StreamPosition,
  type RefreshFrame,
  type SessionFrame,
  type SendFrame,
  type SubscribeFrame,
  type UnsubscribeFrame,
} from '@metered/protocol';
import type { AppRegistry } from './app-registry.js';
import { TOKEN_EXPIRY_MARGIN_MS, type ConnectionIdentity } from './auth.js';
import {
  OVER_QUOTA,
  andThen,
  isPromise,
  type Broker,
  type BrokerConnection,
  type MaybePromise,
  type QuotaClaim,
} from './broker/broker.js';
import { hasLoneSurrogate } from './channel-name.js';
import type { AppConfig } from './config.js';
import type { ExtensionsConfig } from './extensions-config.js';
import { historyPolicy } from './history/history-config.js';
import {
  DUPLICATE,
  type HistoryEntry,
  type IdempotencyClaim,
  type Recovery,
  type ReplaySource,
} from './history/history-types.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { consumeMessageQuota, periodStartOf } from './message-quota.js';
import type { ServerMetrics } from './metrics.js';
import type { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';
import { PipelinedAnswers } from './pipelined-answers.js';
import { presenceSnapshotFrames } from './presence-snapshot-frames.js';
import { relayedFrameFits } from './relayed-frame-size.js';
import { checkRefresh } from './token-refresh.js';

/** What the handler needs of a welcomed socket and the server around it. */
export interface ClientFrameContext {
  /** The socket: frames are written and closes asked for through it. */
  readonly connection: BrokerConnection;
  readonly identity: ConnectionIdentity;
  /** The app's current configuration (it changes on reload). */
  readonly app: () => AppConfig;
  readonly broker: Broker;
  readonly metrics: ServerMetrics;
  readonly now: () => number;
  readonly publishBandwidth: PublishBandwidthLimiter;
  /** Writes a recovery replay next, frames delivered later waiting behind it. */
  readonly replay: (source: ReplaySource) => void;
  /** The apps and keys in force, to verify a `refresh` token with. */
  readonly registry: () => AppRegistry;
  /** The extensions switched on (server-level; it changes on reload). */
  readonly extensions: () => ExtensionsConfig;
  /** Extension `refresh`: the connection now runs under `identity` (its expiry moves). */
  readonly onRefreshed: (identity: ConnectionIdentity) => void;
  /** Extension `resume`: the connection's resume credential, for the `session` ack. */
  readonly issueResumeToken: () => MaybePromise<{
    readonly resumeToken: string;
    readonly windowMs: number;
  }>;
  /** False once the socket is closing: what a slow step finds out afterwards changes nothing. */
  readonly isOpen: () => boolean;
  /** A broker call of a frame handled without waiting (pipelined) failed: the socket fails. */
  readonly fail: (error: unknown) => void;
}

/**
 * What a welcomed socket's client frames do: parse and refuse, check permissions, channel scope,
 * the channel limit and the message quota, then subscribe, unsubscribe, publish or send through
 * the broker. A frame whose handling waits on the broker returns a promise; the connection holds
 * the next frames until it settles. Except publishes and sends on a broker that counts the
 * quota itself (`countsQuota`): their one broker call is made at once, in frame order, and
 * their answers are written in frame order as the replies come ({@link PipelinedAnswers}); any
 * other frame waits until every answer in flight is written.
 */
export class ClientFrameHandler {
  /** The channels this socket is subscribed to (or subscribing). */
  private readonly channels = new Set<string>();
  /** Extension `resume`: held channels taken over and not subscribed again yet. */
  private readonly heldChannels = new Set<string>();
  /** UTF-8 length of what a relayed frame adds: the sender's id and metadata. */
  private senderBytes: number | undefined;
  /** Who the socket acts as: the connect identity, replaced by each accepted `refresh`. */
  private identity: ConnectionIdentity;
  /** The answers of publishes and sends in flight, in frame order. */
  private readonly answers: PipelinedAnswers;
  /** UTF-8 size of the frame being handled. */
  private frameBytes = 0;

  constructor(private readonly context: ClientFrameContext) {
    this.identity = context.identity;
    this.answers = new PipelinedAnswers(context.fail);
  }

  /** Frames handled whose answer is not written yet, and their UTF-8 bytes. */
  get inFlight(): { readonly frames: number; readonly bytes: number } {
    return this.answers;
  }

  /** Settles once every answer in flight is written; undefined when none is. */
  get settled(): Promise<void> | undefined {
    return this.answers.settled;
  }

  /** Handles one frame of `bytes` UTF-8 bytes. */
  handle(text: string, bytes = 0): MaybePromise<void> {
    const parsed = parseClientFrame(text);
    const inFlight = this.answers.settled;
    if (inFlight !== undefined && !this.mayOverlap(parsed)) {
      // Handled once every answer in flight is written, as if the frames before it had waited.
      return inFlight.then(
        () => (this.context.isOpen() ? this.handleParsed(text, parsed, bytes) : undefined),
        // The socket fails with the broker's error (PipelinedAnswers reports it).
        () => undefined,
      );
    }
    return this.handleParsed(text, parsed, bytes);
  }

  /** Whether a frame may be handled while answers are in flight: a publish or send, counted by the broker. */
  private mayOverlap(parsed: ReturnType<typeof parseClientFrame>): boolean {
    return (
      parsed.ok &&
      (parsed.frame.type === 'publish' || parsed.frame.type === 'send') &&
      this.context.broker.countsQuota === true &&
      !this.expiring()
    );
  }

  /** Whether the token is within the margin of its expiry. */
  private expiring(): boolean {
    const { expiresAt } = this.identity;
    return expiresAt !== null && this.context.now() >= expiresAt * 1000 - TOKEN_EXPIRY_MARGIN_MS;
  }

  private handleParsed(
    text: string,
    parsed: ReturnType<typeof parseClientFrame>,
    bytes: number,
  ): MaybePromise<void> {
    const { connection, metrics } = this.context;
    this.frameBytes = bytes;
    const { expiresAt } = this.identity;
    if (expiresAt !== null && this.expiring()) {
      // A `refresh` is still taken up to the token's real expiry.
      const refreshing =
        parsed.ok && parsed.frame.type === 'refresh' && this.context.extensions().refresh;
      if (!refreshing || this.context.now() >= expiresAt * 1000) {
        connection.close(WsCloseCode.TOKEN_EXPIRED, 'token expired');
        return;
      }
    }
    if (!parsed.ok) {
      const { rejection } = parsed;
      metrics.frameIn('rejected');
      if (rejection.action === 'close') connection.close(rejection.closeCode, rejection.reason);
      else this.sendError(rejection.code, rejection.message, rejection.requestId);
      return;
    }
    const { frame } = parsed;
    if ('channel' in frame && hasLoneSurrogate(frame.channel)) {
      metrics.frameIn('rejected');
      return this.sendError(
        'invalid_channel',
        'channel name has a lone surrogate (no UTF-8 form)',
        frame.requestId,
      );
    }
    // Every receiver gets `data` re-encoded, and encoding recurses: refuse what would overflow
    // the stack instead of failing later with an internal error. Nesting deeper than the limit
    // needs at least two characters per level, so short frames skip the walk.
    if (
      (frame.type === 'publish' || frame.type === 'send') &&
      text.length > 2 * MAX_JSON_DEPTH &&
      nestsDeeperThan(frame.data)
    ) {
      metrics.frameIn('rejected');
      return this.sendError(
        'malformed_message',
        `data nests deeper than ${MAX_JSON_DEPTH} levels`,
        frame.requestId,
      );
    }
    metrics.frameIn(frame.type);
    switch (frame.type) {
      case 'ping':
        connection.deliver(PONG_FRAME);
        return;
      case 'subscribe':
        return this.subscribe(frame);
      case 'unsubscribe':
        return this.unsubscribe(frame);
      case 'publish':
        return this.publish(frame, text);
      case 'send':
        return this.send(frame, text);
      case 'session':
        if (this.context.extensions().resume) return this.session(frame);
        return this.unknownType(frame);
      case 'refresh':
        if (this.context.extensions().refresh) return this.refresh(frame);
        return this.unknownType(frame);
      default: {
        const unknownFrame: never = frame;
        return unknownFrame;
      }
    }
  }

  /** Extension `resume`: the resumed session's channels, subscribed and silent until subscribed again. */
  adoptHeldChannels(channels: readonly string[]): Promise<void> {
    const { identity } = this;
    const disallowed: string[] = [];
    for (const channel of channels) {
      this.channels.add(channel);
      // The resuming connection's credential may allow less than the held one did.
      if (identity.permissions.has('subscribe') && identity.scope.allows(channel)) {
        this.heldChannels.add(channel);
      } else disallowed.push(channel);
    }
    return this.leaveChannels(disallowed);
  }

  /** Extension `resume`: leaves the held channels not subscribed again (members hear `left`). */
  leaveHeldChannels(): Promise<void> {
    const channels = [...this.heldChannels];
    this.heldChannels.clear();
    return this.leaveChannels(channels);
  }

  private async leaveChannels(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      if (!this.channels.delete(channel)) continue;
      await this.context.broker.unsubscribe(this.context.connection, channel);
    }
  }

  /** An extension's frame where the extension is off: as any frame type the server does not know. */
  private unknownType(frame: SessionFrame | RefreshFrame): void {
    return this.sendError('unknown_type', `unknown frame type "${frame.type}"`, frame.requestId);
  }

  /** Extension `resume`: a fresh single-use credential; the session is held from now on. */
  private session(frame: SessionFrame): MaybePromise<void> {
    return andThen(this.context.issueResumeToken(), ({ resumeToken, windowMs }) => {
      if (frame.requestId !== undefined) {
        this.context.connection.deliver(encodeAck(frame.requestId, { resumeToken, windowMs }));
      }
    });
  }

  /**
   * Extension `refresh`: a token checked as on connect (same app, same `sub`) replaces the
   * connection's identity: its expiry, permissions and channel scope. Subscriptions the new
   * scope no longer allows end (`unsubscribed`, members see `left`). A refused token changes
   * nothing.
   */
  private async refresh(frame: RefreshFrame): Promise<void> {
    const { connection } = this.context;
    const outcome = await checkRefresh(
      this.context.registry(),
      this.context.broker,
      this.identity,
      frame.token,
      this.context.now(),
    );
    if (!this.context.isOpen()) return;
    if (!outcome.ok) {
      return this.sendError('action_not_permitted', outcome.reason, frame.requestId);
    }
    const { identity } = outcome;
    this.identity = identity;
    this.senderBytes = undefined;
    this.context.onRefreshed(identity);
    const ended = [...this.channels].filter(
      (channel) => !identity.permissions.has('subscribe') || !identity.scope.allows(channel),
    );
    for (const channel of ended) {
      this.channels.delete(channel);
      this.heldChannels.delete(channel);
      await this.context.broker.unsubscribe(connection, channel);
      connection.deliver(encodeUnsubscribed(channel, 'channel_not_authorized'));
    }
    if (frame.requestId !== undefined) {
      connection.deliver(encodeAck(frame.requestId, { expiresAt: identity.expiresAt as number }));
    }
  }

  private subscribe(frame: SubscribeFrame): MaybePromise<void> {
    const { connection } = this.context;
    const { identity } = this;
    const { channel, requestId } = frame;
    if (!identity.permissions.has('subscribe')) {
      return this.sendError('action_not_permitted', 'subscribe is not permitted', requestId);
    }
    if (!identity.scope.allows(channel)) {
      return this.sendError('channel_not_authorized', 'channel not authorized', requestId);
    }
    const limit = this.context.app().limits.maxChannelsPerConnection;
    if (!this.channels.has(channel) && this.channels.size >= limit) {
      return this.sendError(
        'channel_limit_exceeded',
        `at most ${limit} channels per connection`,
        requestId,
      );
    }
    this.channels.add(channel);
    this.heldChannels.delete(channel);
    const includeSenderMetadata = frame.includeSenderMetadata === true;
    const history = this.context.extensions().recovery
      ? historyPolicy(this.context.app().history, channel)
      : undefined;
    const since = this.context.extensions().recovery ? frame.since : undefined;
    return this.context.broker.subscribe(connection, channel, {
      includeSenderMetadata,
      history,
      since,
      beforeAnnounce: (members: readonly PresenceMember[], recovery?: Recovery) => {
        if (requestId !== undefined) {
          connection.deliver(
            recovery !== undefined
              ? encodeAck(requestId, {
                  position: recovery.position,
                  ...(recovery.recovered !== undefined && { recovered: recovery.recovered }),
                })
              : since !== undefined
                ? encodeAck(requestId, { recovered: false })
                : encodeAck(requestId),
          );
        }
        for (const frame of presenceSnapshotFrames(channel, members)) connection.deliver(frame);
        if (recovery?.recovered === true) {
          const { epoch } = recovery.position;
          const frames = (entries: readonly HistoryEntry[]): Iterator<string> =>
            replayFrames(channel, epoch, entries, includeSenderMetadata);
          const { replay } = recovery;
          if (isPromise(replay)) this.context.replay(replay.then(frames));
          else if (replay.length > 0) this.context.replay(frames(replay));
        }
      },
    });
  }

  private unsubscribe(frame: UnsubscribeFrame): MaybePromise<void> {
    const { connection } = this.context;
    const { channel, requestId } = frame;
    const acknowledge = (): void => {
      if (requestId !== undefined) connection.deliver(encodeAck(requestId));
    };
    this.heldChannels.delete(channel);
    if (!this.channels.delete(channel)) return acknowledge();
    return andThen(this.context.broker.unsubscribe(connection, channel), acknowledge);
  }

  private consumeQuota(): MaybePromise<boolean> {
    return consumeMessageQuota(this.context.broker, this.context.app(), this.context.now());
  }

  /** The frame's idempotency claim, when the extension is on and it carries a key. */
  private idempotency(key: string | undefined): IdempotencyClaim | undefined {
    if (key === undefined || !this.context.extensions().idempotency) return undefined;
    return { key, windowMs: this.context.app().idempotency.windowMs };
  }

  /**
   * Runs `apply` unless the key was used already (then `ack` with `duplicate: true`): a retry is
   * neither applied nor counted against the quota twice.
   */
  private unlessDuplicate(
    claim: IdempotencyClaim | undefined,
    requestId: string | undefined,
    apply: () => MaybePromise<void>,
  ): MaybePromise<void> {
    const { broker, identity } = this.context;
    if (claim === undefined || broker.seenIdempotencyKey === undefined) return apply();
    return andThen(
      broker.seenIdempotencyKey(identity.app.id, identity.peerId, claim.key),
      (seen) => (seen ? this.acknowledgeDuplicate(requestId) : apply()),
    );
  }

  private acknowledgeDuplicate(requestId: string | undefined): void {
    if (requestId !== undefined) this.answer(encodeAck(requestId, { duplicate: true }));
  }

  /** The app's quota, for a broker that counts it (`countsQuota`). */
  private quotaClaim(): QuotaClaim {
    const { plan } = this.context.app();
    return {
      periodStart: periodStartOf(this.context.now(), plan.periodSeconds),
      limit: plan.maxMessagesPerPeriod,
    };
  }

  /**
   * Answers a broker call's reply: at once when it is there and nothing is in flight, else in
   * frame order, without holding the next frames (the call was made already, in order).
   */
  private answerInOrder<T>(reply: MaybePromise<T>, answer: (value: T) => void): void {
    if (isPromise(reply)) this.answers.after(reply, answer, this.frameBytes);
    else this.answers.write(() => answer(reply));
  }

  /** What a counted publish or send was answered: over the quota, a duplicate, or applied. */
  private answerCounted(
    outcome: number,
    requestId: string | undefined,
    applied: (outcome: number) => void,
  ): void {
    if (outcome === OVER_QUOTA) {
      return this.sendError('over_message_quota', 'message quota exhausted', requestId);
    }
    if (outcome === DUPLICATE) return this.acknowledgeDuplicate(requestId);
    applied(outcome);
  }

  private publish(frame: PublishFrame, text: string): MaybePromise<void> {
    const { connection } = this.context;
    const { identity } = this;
    const { channel, requestId } = frame;
    if (!identity.permissions.has('publish')) {
      return this.sendError('action_not_permitted', 'publish is not permitted', requestId);
    }
    if (!identity.scope.allows(channel)) {
      return this.sendError('channel_not_authorized', 'channel not authorized', requestId);
    }
    const history = this.context.extensions().recovery
      ? historyPolicy(this.context.app().history, channel)
      : undefined;
    if (
      !this.fitsClientCap(text, () =>
        encodeMessage(
          channel,
          identity.peerId,
          frame.data,
          identity.peerMetadata,
          history && LONGEST_POSITION,
        ),
      )
    ) {
      return this.refuseOverCap(requestId);
    }
    const limit = this.context.app().limits.maxPublishBytesPerSecond;
    if (
      limit !== undefined &&
      !this.context.publishBandwidth.tryPublish(identity.app.id, utf8ByteLength(text), limit)
    ) {
      return this.sendError(
        'over_message_quota',
        `app publish bandwidth exhausted (${limit} bytes per second)`,
        requestId,
      );
    }
    const idempotency = this.idempotency(frame.idempotencyKey);
    const message = {
      channel,
      from: identity.peerId,
      data: frame.data,
      fromMetadata: identity.peerMetadata,
      excludeConnectionId: connection.id,
      history,
      idempotency,
    };
    const { broker } = this.context;
    if (broker.countsQuota === true) {
      const reply = broker.publish(identity.app.id, { ...message, quota: this.quotaClaim() });
      return this.answerInOrder(reply, (outcome) =>
        this.answerCounted(outcome, requestId, () => {
          if (requestId !== undefined) this.answer(encodeAck(requestId));
        }),
      );
    }
    return this.unlessDuplicate(idempotency, requestId, () =>
      andThen(this.consumeQuota(), (allowed) => {
        if (!allowed) {
          return this.sendError('over_message_quota', 'message quota exhausted', requestId);
        }
        return andThen(broker.publish(identity.app.id, message), (receivers) => {
          if (receivers === DUPLICATE) return this.acknowledgeDuplicate(requestId);
          if (requestId !== undefined) connection.deliver(encodeAck(requestId));
        });
      }),
    );
  }

  private send(frame: SendFrame, text: string): MaybePromise<void> {
    const { identity } = this;
    const { to, requestId } = frame;
    if (!identity.permissions.has('send')) {
      return this.sendError('action_not_permitted', 'send is not permitted', requestId);
    }
    if (to === identity.peerId) {
      return this.sendError('invalid_peer_id', 'cannot send to yourself', requestId);
    }
    if (
      !this.fitsClientCap(text, () =>
        encodeDirect(identity.peerId, frame.data, identity.peerMetadata),
      )
    ) {
      return this.refuseOverCap(requestId);
    }
    const idempotency = this.idempotency(frame.idempotencyKey);
    const message = {
      from: identity.peerId,
      to,
      data: frame.data,
      fromMetadata: identity.peerMetadata,
      idempotency,
    };
    const answerDelivered = (delivered: number): void => {
      if (delivered === DUPLICATE) return this.acknowledgeDuplicate(requestId);
      if (delivered === 0) {
        return this.sendError('peer_not_found', 'peer is not online', requestId);
      }
      if (requestId !== undefined) this.answer(encodeAck(requestId));
    };
    const { broker } = this.context;
    if (broker.countsQuota === true) {
      const reply = broker.sendDirect(identity.app.id, { ...message, quota: this.quotaClaim() });
      return this.answerInOrder(reply, (outcome) =>
        this.answerCounted(outcome, requestId, answerDelivered),
      );
    }
    return this.unlessDuplicate(idempotency, requestId, () =>
      andThen(this.consumeQuota(), (allowed) => {
        if (!allowed) {
          return this.sendError('over_message_quota', 'message quota exhausted', requestId);
        }
        return andThen(broker.sendDirect(identity.app.id, message), answerDelivered);
      }),
    );
  }

  /**
   * Whether the frame relayed to receivers stays within the clients' 1 MiB cap: `data` is
   * re-encoded from its parsed value, and numbers can come out longer than they went in.
   */
  private fitsClientCap(text: string, encode: () => string): boolean {
    const { identity } = this;
    this.senderBytes ??=
      utf8ByteLength(identity.peerId) +
      (identity.peerMetadata === undefined
        ? 0
        : utf8ByteLength(JSON.stringify(identity.peerMetadata)));
    return relayedFrameFits(utf8ByteLength(text), this.senderBytes, encode);
  }

  private refuseOverCap(requestId: string | undefined): void {
    return this.sendError(
      'malformed_message',
      'data re-encodes to a frame over the 1 MiB a client accepts',
      requestId,
    );
  }

  private sendError(code: ErrorCode, message: string, requestId: string | undefined): void {
    this.context.metrics.errorsTotal.inc({ code });
    this.answer(encodeError(code, message, requestId));
  }

  /** Writes an answer (ack, error) after those of the frames before it. */
  private answer(frame: string): void {
    const { connection } = this.context;
    if (this.answers.busy) this.answers.write(() => connection.deliver(frame));
    else connection.deliver(frame);
  }
}

/** The longest `offset` and `epoch` a message frame may carry, for the frame cap. */
const LONGEST_POSITION: StreamPosition = Object.freeze({
  offset: Number.MAX_SAFE_INTEGER,
  epoch: 'x'.repeat(64),
});

/** The `message` frames of a replay, encoded one by one as the connection writes them. */
function* replayFrames(
  channel: string,
  epoch: string,
  entries: readonly HistoryEntry[],
  includeSenderMetadata: boolean,
): Iterator<string> {
  for (const entry of entries) {
    yield encodeMessage(
      channel,
      entry.from,
      entry.data,
      includeSenderMetadata ? entry.fromMetadata : undefined,
      { offset: entry.offset, epoch },
    );
  }
}
