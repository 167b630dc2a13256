import type {
  DirectFrame,
  GoingAwayFrame,
  JsonObject,
  MessageFrame,
  PresenceFrame,
  PresenceMember,
  StreamPosition,
} from '@metered/protocol';
import { Direct, GoingAway, Message, Presence, type PresencePeer } from './events.js';

// The events of the server frames that carry no state of the client, built from frames that
// `validateServerFrame` accepted: required fields are checked, optional ones are read here.

/** A JSON object (not null, not an array), else `null`: optional metadata of the wrong type is dropped. */
const objectOrNull = (value: unknown): JsonObject | null =>
  typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject | null) : null;

/**
 * The hot path: the same frozen instance `new Message({...})` makes, without the fields object in
 * between. `offset` and `epoch` only with a `position`.
 */
export function messageEvent(frame: MessageFrame, position?: StreamPosition): Message {
  const event = Object.create(Message.prototype) as { -readonly [K in keyof Message]: Message[K] };
  event.channel = frame.channel;
  event.senderPeerId = frame.from;
  event.data = frame.data;
  event.senderMetadata = objectOrNull(frame.fromMetadata);
  if (position) Object.assign(event, position);
  return Object.freeze(event) as Message;
}

export function directEvent(frame: DirectFrame): Direct {
  return new Direct({
    senderPeerId: frame.from,
    data: frame.data,
    senderMetadata: objectOrNull(frame.fromMetadata),
  });
}

export function presenceEvent(frame: PresenceFrame): Presence {
  const peers = (list: readonly PresenceMember[]): readonly PresencePeer[] =>
    Object.freeze(
      list.map(({ peerId, metadata }) =>
        Object.freeze({ peerId, metadata: objectOrNull(metadata) }),
      ),
    );
  return new Presence({
    channel: frame.channel,
    joined: peers(frame.joined),
    left: peers(frame.left),
  });
}

/** A `retryAfterMs` that is missing, not a finite number, 0 or less becomes 1000. */
export function goingAwayEvent({ retryAfterMs }: GoingAwayFrame): GoingAway {
  const valid =
    typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0;
  return new GoingAway({ retryAfterMs: valid ? retryAfterMs : 1000 });
}
