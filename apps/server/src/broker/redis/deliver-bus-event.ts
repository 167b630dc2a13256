import {
  encodeDirect,
  encodeMessage,
  encodePresence,
  type PresenceMember,
} from '@metered/protocol';
import { fanOutFrame } from '../../outbound.js';
import { HeldSession } from '../held-session.js';
import type {
  BusEvent,
  CatchUpMarkEvent,
  MessageEvent,
  SessionClaimedEvent,
  SnapshotEvent,
} from './bus-events.js';
import type { LocalIndex, LocalSubscription } from './local-index.js';

const NO_MEMBERS: readonly PresenceMember[] = Object.freeze([]);

/**
 * The `message` frames of one channel message event, encoded once (the sender's metadata only
 * when a subscriber asked for it), and which one each subscriber gets.
 */
export class MessageFrames {
  private plain: Buffer | undefined;
  private withMetadata: Buffer | undefined;

  constructor(readonly event: MessageEvent) {}

  /** The frame for `subscription`; undefined for the publishing connection. */
  for({ connection, includeSenderMetadata }: LocalSubscription): Buffer | undefined {
    const { event } = this;
    if (connection.id === event.x) return undefined;
    if (includeSenderMetadata && event.md !== undefined) {
      this.withMetadata ??= this.encode(event.md);
      return this.withMetadata;
    }
    this.plain ??= this.encode(undefined);
    return this.plain;
  }

  private encode(metadata: MessageEvent['md']): Buffer {
    const { event } = this;
    const position =
      event.o === undefined ? undefined : { offset: event.o, epoch: event.e as string };
    return fanOutFrame(
      encodeMessage(event.c, event.f, 'd' in event ? event.d : null, metadata, position),
    );
  }
}

/**
 * Hands one bus or inbox event to this node's sockets: channel messages and presence deltas to
 * the channel's local subscribers, directs and kicks to the target peer's local sockets, an
 * app-wide close to every local socket of the app. Each frame is encoded once per event and
 * every receiver gets the same bytes. (Snapshots answer a pending subscribe: the broker handles
 * them.)
 */
export function deliverBusEvent(
  event: Exclude<BusEvent, SnapshotEvent | SessionClaimedEvent | CatchUpMarkEvent>,
  local: LocalIndex,
): void {
  switch (event.t) {
    case 'm': {
      const subscribers = local.subscribers(event.a, event.c);
      if (!subscribers) return;
      const frames = new MessageFrames(event);
      for (const subscription of subscribers.values()) {
        const frame = frames.for(subscription);
        if (frame !== undefined) subscription.connection.deliver(frame);
      }
      return;
    }
    case 'p': {
      const subscribers = local.subscribers(event.a, event.c);
      if (!subscribers) return;
      const frames =
        event.k === 'j'
          ? [fanOutFrame(encodePresence(event.c, [event.m], NO_MEMBERS))]
          : event.k === 'l'
            ? [fanOutFrame(encodePresence(event.c, NO_MEMBERS, [event.m]))]
            : [
                fanOutFrame(encodePresence(event.c, NO_MEMBERS, [event.pm as PresenceMember])),
                fanOutFrame(encodePresence(event.c, [event.m], NO_MEMBERS)),
              ];
      for (const { connection } of subscribers.values()) {
        if (connection.peerId === event.p) continue;
        for (const frame of frames) connection.deliver(frame);
      }
      return;
    }
    case 'd': {
      const sockets = local.sockets(event.a, event.to);
      if (!sockets || sockets.size === 0) return;
      const text = encodeDirect(event.f, 'd' in event ? event.d : null, event.md);
      const frame = sockets.size === 1 ? text : fanOutFrame(text);
      for (const connection of sockets) {
        // Routed before the session was recorded as held in Redis: kept here.
        if (connection instanceof HeldSession) connection.keep(frame);
        else connection.deliver(frame);
      }
      return;
    }
    case 'kp': {
      const sockets = local.sockets(event.a, event.p);
      if (!sockets) return;
      for (const connection of [...sockets]) connection.close(event.code, event.r);
      return;
    }
    case 'ka': {
      for (const connection of local.connectionsOf(event.a)) {
        connection.close(event.code, event.r);
      }
      return;
    }
    default:
      return;
  }
}
