import type { NodeRTCDataChannel } from './data-channel.js';
import type { NodeRTCIceCandidate } from './ice-candidate.js';
import type { NodeMediaStream, NodeMediaStreamTrack } from './media-stream-track.js';
import type { NodeRTCRtpReceiver, NodeRTCRtpTransceiver } from './rtp-transceiver.js';

/**
 * The type of the `on<event>` handler properties (`onicecandidate`, `onmessage`, `onrtp`, …) of
 * {@link RTCPeerConnection}, {@link NodeRTCDataChannel} and {@link NodeMediaStreamTrack}, as in
 * the DOM: the handler is called with the target as `this` and the event, before the listeners
 * added with `addEventListener`; `null` when no handler is set.
 *
 * @typeParam Target - The object that fires the event.
 * @typeParam E - The event it is called with.
 */
export type NodeEventHandler<Target extends EventTarget, E extends Event = Event> =
  ((this: Target, event: E) => unknown) | null;

/** `icecandidate`: `candidate` is `null` at the end of candidates. */
export class NodeRTCPeerConnectionIceEvent extends Event {
  readonly candidate: NodeRTCIceCandidate | null;

  constructor(type: string, init: { candidate: NodeRTCIceCandidate | null }) {
    super(type);
    this.candidate = init.candidate;
  }
}

/** `datachannel`: the remote side opened `channel`. */
export class NodeRTCDataChannelEvent extends Event {
  readonly channel: NodeRTCDataChannel;

  constructor(type: string, init: { channel: NodeRTCDataChannel }) {
    super(type);
    this.channel = init.channel;
  }
}

/** `track`: the remote side sends `track`. */
export class NodeRTCTrackEvent extends Event {
  readonly track: NodeMediaStreamTrack;
  readonly streams: readonly NodeMediaStream[];
  readonly receiver: NodeRTCRtpReceiver;
  readonly transceiver: NodeRTCRtpTransceiver;

  constructor(
    type: string,
    init: {
      track: NodeMediaStreamTrack;
      streams: readonly NodeMediaStream[];
      receiver: NodeRTCRtpReceiver;
      transceiver: NodeRTCRtpTransceiver;
    },
  ) {
    super(type);
    this.track = init.track;
    this.streams = init.streams;
    this.receiver = init.receiver;
    this.transceiver = init.transceiver;
  }
}

/** `message` on a data channel. */
export class NodeMessageEvent extends Event {
  readonly data: string | ArrayBuffer | Blob;

  constructor(type: string, init: { data: string | ArrayBuffer | Blob }) {
    super(type);
    this.data = init.data;
  }
}

/** `error` on a data channel: `error` carries the native message. */
export class NodeRTCErrorEvent extends Event {
  readonly error: Error;

  constructor(type: string, init: { error: Error }) {
    super(type);
    this.error = init.error;
  }
}

/** Calls the `on<type>` property handler, then the listeners. */
export function emit(target: EventTarget, event: Event): void {
  const handler = (target as unknown as Record<string, unknown>)[`on${event.type}`];
  if (typeof handler === 'function') {
    try {
      (handler as (this: EventTarget, event: Event) => unknown).call(target, event);
    } catch (err) {
      // Like a listener that throws: reported, never breaking the emitter.
      process.nextTick(() => {
        throw err;
      });
    }
  }
  target.dispatchEvent(event);
}
