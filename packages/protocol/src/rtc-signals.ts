import type { JsonObject } from './frames.js';
import { isPlainObject } from './is-plain-object.js';

// WebRTC signalling rides on `send` / `direct` payloads, recognised by shape. Anything that is not
// one of these shapes is application data.

/** An SDP offer or answer. */
export interface RtcDescriptionSignal {
  readonly type: 'rtc-description';
  readonly description: { readonly type: 'offer' | 'answer'; readonly sdp: string };
  /**
   * The sender's peer connection, an id it picked (1–64 characters): a new id means the sender
   * started a new connection. An extra key that clients without it ignore; absent from theirs.
   */
  readonly connectionId?: string;
}

/** A trickled ICE candidate, as `RTCIceCandidateInit`. */
export interface RtcIceCandidateInit {
  readonly candidate?: string | undefined;
  readonly sdpMid?: string | null | undefined;
  readonly sdpMLineIndex?: number | null | undefined;
  readonly usernameFragment?: string | null | undefined;
}

/** A trickled candidate, or `null` for end-of-candidates. */
export interface RtcIceSignal {
  readonly type: 'rtc-ice';
  readonly candidate: RtcIceCandidateInit | null;
  /** The sender's peer connection (see {@link RtcDescriptionSignal.connectionId}). */
  readonly connectionId?: string;
}

/** Metadata of one sent track; no `metadata` clears it. */
export interface TrackMetaSignal {
  readonly type: 'track-meta';
  readonly trackId: string;
  readonly metadata?: JsonObject;
}

/** A recognised signalling payload. */
export type RtcSignal = RtcDescriptionSignal | RtcIceSignal | TrackMetaSignal;

/** The payload's `connectionId` when it is a string of 1–64 characters (else left out). */
function connectionIdOf(data: Record<string, unknown>): { connectionId?: string } {
  const id = data.connectionId;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? { connectionId: id } : {};
}

/**
 * Recognises a signalling payload inside a `direct` frame's `data`; returns `null` for application
 * data (including malformed signalling shapes, which are then delivered as data).
 */
export function parseRtcSignal(data: unknown): RtcSignal | null {
  if (!isPlainObject(data)) return null;
  if (data.type === 'rtc-description') {
    const description = data.description;
    if (
      isPlainObject(description) &&
      (description.type === 'offer' || description.type === 'answer') &&
      typeof description.sdp === 'string'
    ) {
      return {
        type: 'rtc-description',
        description: { type: description.type, sdp: description.sdp },
        ...connectionIdOf(data),
      };
    }
    return null;
  }
  if (data.type === 'rtc-ice') {
    const candidate = data.candidate;
    if (candidate === null) return { type: 'rtc-ice', candidate: null, ...connectionIdOf(data) };
    if (!isPlainObject(candidate)) return null;
    const init: {
      candidate?: string;
      sdpMid?: string | null;
      sdpMLineIndex?: number | null;
      usernameFragment?: string | null;
    } = {};
    if (typeof candidate.candidate === 'string') init.candidate = candidate.candidate;
    if (typeof candidate.sdpMid === 'string' || candidate.sdpMid === null)
      init.sdpMid = candidate.sdpMid;
    if (typeof candidate.sdpMLineIndex === 'number' || candidate.sdpMLineIndex === null) {
      init.sdpMLineIndex = candidate.sdpMLineIndex;
    }
    if (typeof candidate.usernameFragment === 'string' || candidate.usernameFragment === null) {
      init.usernameFragment = candidate.usernameFragment;
    }
    return { type: 'rtc-ice', candidate: init, ...connectionIdOf(data) };
  }
  const meta = data.__meteredTrackMeta;
  if (meta !== undefined) {
    if (!isPlainObject(meta) || typeof meta.trackId !== 'string' || meta.trackId.length === 0)
      return null;
    if (meta.metadata === undefined) return { type: 'track-meta', trackId: meta.trackId };
    if (!isPlainObject(meta.metadata)) return null;
    return { type: 'track-meta', trackId: meta.trackId, metadata: meta.metadata as JsonObject };
  }
  return null;
}

/** The payload of an SDP signal, tagged with the sender's connection id when given. */
export function rtcDescriptionPayload(
  description: { readonly type: 'offer' | 'answer'; readonly sdp: string },
  connectionId?: string,
): {
  type: 'rtc-description';
  description: { type: 'offer' | 'answer'; sdp: string };
  connectionId?: string;
} {
  return {
    type: 'rtc-description',
    description: { type: description.type, sdp: description.sdp },
    ...(connectionId !== undefined && { connectionId }),
  };
}

/** The payload of a candidate signal (`null` = end of candidates), tagged like descriptions. */
export function rtcIcePayload(
  candidate: RtcIceCandidateInit | null,
  connectionId?: string,
): {
  type: 'rtc-ice';
  candidate: RtcIceCandidateInit | null;
  connectionId?: string;
} {
  const tag = connectionId !== undefined && { connectionId };
  if (candidate === null) return { type: 'rtc-ice', candidate: null, ...tag };
  const { candidate: line, sdpMid, sdpMLineIndex, usernameFragment } = candidate;
  return {
    type: 'rtc-ice',
    candidate: { candidate: line ?? '', sdpMid, sdpMLineIndex, usernameFragment },
    ...tag,
  };
}

/** The payload announcing (or, without `metadata`, clearing) a track's metadata. */
export function trackMetaPayload(
  trackId: string,
  metadata?: JsonObject,
): { __meteredTrackMeta: { trackId: string; metadata?: JsonObject } } {
  return { __meteredTrackMeta: metadata === undefined ? { trackId } : { trackId, metadata } };
}
