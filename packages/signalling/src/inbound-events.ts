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

type MessageFields = { -readonly [K in keyof Message]: Message[K] };

/**
 * The hot path: the same frozen instance `new Message({...})` makes (its prototype is
 * `Message.prototype`), without the fields object in between; a constructor rather than
 * `Object.create` because V8 builds its instances faster. `offset` and `epoch` only with a
 * `position`.
 */
export const InboundMessage = function (
  this: MessageFields,
  frame: MessageFrame,
  position?: StreamPosition,
): void {
  this.channel = frame.channel;
  this.senderPeerId = frame.from;
  this.data = frame.data;
  this.senderMetadata = objectOrNull(frame.fromMetadata);
  if (position) Object.assign(this, position);
  Object.freeze(this);
} as unknown as new (frame: MessageFrame, position?: StreamPosition) => Message;
InboundMessage.prototype = Message.prototype;

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
  // `Number.isFinite` is false for anything but a finite number.
  const valid = Number.isFinite(retryAfterMs) && (retryAfterMs as number) > 0;
  return new GoingAway({ retryAfterMs: valid ? (retryAfterMs as number) : 1000 });
}
