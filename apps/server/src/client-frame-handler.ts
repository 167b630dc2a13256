import { WsCloseCode, type ErrorCode } from '@metered/errors';
import {
  PONG_FRAME,
  encodeAck,
  encodeDirect,
  encodeError,
  encodeMessage,
  parseClientFrame,
  utf8ByteLength,
  type PresenceMember,
  type PublishFrame,
  type SendFrame,
  type SubscribeFrame,
  type UnsubscribeFrame,
} from '@metered/protocol';
import { TOKEN_EXPIRY_MARGIN_MS, type ConnectionIdentity } from './auth.js';
import { andThen, type Broker, type BrokerConnection, type MaybePromise } from './broker/broker.js';
import { hasLoneSurrogate } from './channel-name.js';
import type { AppConfig } from './config.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { consumeMessageQuota } from './message-quota.js';
import type { ServerMetrics } from './metrics.js';
import type { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';
import { presenceSnapshotFrames } from './presence-snapshot-frames.js';
import { relayedFrameFits } from './relayed-frame-size.js';

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
}

/**
 * What a welcomed socket's client frames do: parse and refuse, check permissions, channel scope,
 * the channel limit and the message quota, then subscribe, unsubscribe, publish or send through
 * the broker. A frame whose handling waits on the broker returns a promise; the connection holds
 * the next frames until it settles.
 */
export class ClientFrameHandler {
  /** The channels this socket is subscribed to (or subscribing). */
  private readonly channels = new Set<string>();
  /** UTF-8 length of what a relayed frame adds: the sender's id and metadata. */
  private senderBytes: number | undefined;

  constructor(private readonly context: ClientFrameContext) {}

  handle(text: string): MaybePromise<void> {
    const { identity, connection, metrics } = this.context;
    if (
      identity.expiresAt !== null &&
      this.context.now() >= identity.expiresAt * 1000 - TOKEN_EXPIRY_MARGIN_MS
    ) {
      connection.close(WsCloseCode.TOKEN_EXPIRED, 'token expired');
      return;
    }
    const parsed = parseClientFrame(text);
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
      default: {
        const unknownFrame: never = frame;
        return unknownFrame;
      }
    }
  }

  private subscribe(frame: SubscribeFrame): MaybePromise<void> {
    const { identity, connection } = this.context;
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
    return this.context.broker.subscribe(connection, channel, {
      includeSenderMetadata: frame.includeSenderMetadata === true,
      beforeAnnounce: (members: readonly PresenceMember[]) => {
        if (requestId !== undefined) connection.deliver(encodeAck(requestId));
        for (const frame of presenceSnapshotFrames(channel, members)) connection.deliver(frame);
      },
    });
  }

  private unsubscribe(frame: UnsubscribeFrame): MaybePromise<void> {
    const { connection } = this.context;
    const { channel, requestId } = frame;
    const acknowledge = (): void => {
      if (requestId !== undefined) connection.deliver(encodeAck(requestId));
    };
    if (!this.channels.delete(channel)) return acknowledge();
    return andThen(this.context.broker.unsubscribe(connection, channel), acknowledge);
  }

  private consumeQuota(): MaybePromise<boolean> {
    return consumeMessageQuota(this.context.broker, this.context.app(), this.context.now());
  }

  private publish(frame: PublishFrame, text: string): MaybePromise<void> {
    const { identity, connection } = this.context;
    const { channel, requestId } = frame;
    if (!identity.permissions.has('publish')) {
      return this.sendError('action_not_permitted', 'publish is not permitted', requestId);
    }
    if (!identity.scope.allows(channel)) {
      return this.sendError('channel_not_authorized', 'channel not authorized', requestId);
    }
    if (
      !this.fitsClientCap(text, () =>
        encodeMessage(channel, identity.peerId, frame.data, identity.peerMetadata),
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
          excludeConnectionId: connection.id,
        }),
        () => {
          if (requestId !== undefined) connection.deliver(encodeAck(requestId));
        },
      );
    });
  }

  private send(frame: SendFrame, text: string): MaybePromise<void> {
    const { identity, connection } = this.context;
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
          if (requestId !== undefined) connection.deliver(encodeAck(requestId));
        },
      );
    });
  }

  /**
   * Whether the frame relayed to receivers stays within the clients' 1 MiB cap: `data` is
   * re-encoded from its parsed value, and numbers can come out longer than they went in.
   */
  private fitsClientCap(text: string, encode: () => string): boolean {
    const { identity } = this.context;
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
    this.context.connection.deliver(encodeError(code, message, requestId));
  }
}
