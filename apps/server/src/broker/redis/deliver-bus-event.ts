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
  SessionClaimedEvent,
  SnapshotEvent,
} from './bus-events.js';
import type { LocalIndex } from './local-index.js';

const NO_MEMBERS: readonly PresenceMember[] = Object.freeze([]);

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
      const data = 'd' in event ? event.d : null;
      const position =
        event.o === undefined ? undefined : { offset: event.o, epoch: event.e as string };
      // Encoded once per event; every local receiver gets the same bytes.
      const plain = fanOutFrame(encodeMessage(event.c, event.f, data, undefined, position));
      let withMetadata: Buffer | undefined;
      for (const { connection, includeSenderMetadata } of subscribers.values()) {
        if (connection.id === event.x) continue;
        if (includeSenderMetadata && event.md !== undefined) {
          withMetadata ??= fanOutFrame(encodeMessage(event.c, event.f, data, event.md, position));
          connection.deliver(withMetadata);
        } else connection.deliver(plain);
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
