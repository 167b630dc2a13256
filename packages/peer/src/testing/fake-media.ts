import type {
  MediaStreamLike,
  MediaStreamTrackLike,
  RTCRtpSenderLike,
  RtcEventLike,
} from '../rtc-types.js';

/** A listener of the fake tracks and streams. */
export type FakeEventListener = (event: RtcEventLike) => void;

class Listeners {
  readonly #map = new Map<string, Set<FakeEventListener>>();
  add(type: string, listener: FakeEventListener): void {
    const set = this.#map.get(type) ?? new Set();
    set.add(listener);
    this.#map.set(type, set);
  }
  remove(type: string, listener: FakeEventListener): void {
    this.#map.get(type)?.delete(listener);
  }
  dispatch(type: string): void {
    for (const listener of [...(this.#map.get(type) ?? [])]) listener({ type });
  }
  get count(): number {
    let count = 0;
    for (const set of this.#map.values()) count += set.size;
    return count;
  }
}

let serial = 0;

/** The next number of the ids the fakes give themselves (`track-1`, `stream-2`, ...). */
export function nextSerial(): number {
  return ++serial;
}

/** A media track for tests: `stop()` ends it and fires `ended`. */
export class FakeMediaStreamTrack implements MediaStreamTrackLike {
  readonly id: string;
  readonly kind: string;
  readyState = 'live';
  readonly #listeners = new Listeners();

  constructor(kind = 'audio', id = `track-${nextSerial()}`) {
    this.kind = kind;
    this.id = id;
  }

  stop(): void {
    if (this.readyState === 'ended') return;
    this.readyState = 'ended';
    this.#listeners.dispatch('ended');
  }

  addEventListener(type: string, listener: FakeEventListener): void {
    this.#listeners.add(type, listener);
  }

  removeEventListener(type: string, listener: FakeEventListener): void {
    this.#listeners.remove(type, listener);
  }

  /** Listeners currently registered. */
  get listenerCount(): number {
    return this.#listeners.count;
  }
}

/** A media stream for tests. */
export class FakeMediaStream implements MediaStreamLike {
  readonly id: string;
  readonly #tracks: MediaStreamTrackLike[];
  readonly #listeners = new Listeners();

  constructor(tracks: MediaStreamTrackLike[] = [], id = `stream-${nextSerial()}`) {
    this.#tracks = [...tracks];
    this.id = id;
  }

  getTracks(): readonly MediaStreamTrackLike[] {
    return [...this.#tracks];
  }

  addTrack(track: MediaStreamTrackLike): void {
    if (!this.#tracks.includes(track)) this.#tracks.push(track);
  }

  removeTrack(track: MediaStreamTrackLike): void {
    const index = this.#tracks.indexOf(track);
    if (index < 0) return;
    this.#tracks.splice(index, 1);
    this.#listeners.dispatch('removetrack');
  }

  addEventListener(type: string, listener: FakeEventListener): void {
    this.#listeners.add(type, listener);
  }

  removeEventListener(type: string, listener: FakeEventListener): void {
    this.#listeners.remove(type, listener);
  }

  get listenerCount(): number {
    return this.#listeners.count;
  }
}

/** A sender for tests; set `failReplace` to make `replaceTrack` reject. */
export class FakeRtpSender implements RTCRtpSenderLike {
  track: MediaStreamTrackLike | null;
  readonly streams: readonly MediaStreamLike[];
  readonly mid: string;
  failReplace: Error | undefined;
  /**
   * The track id the SDP's `a=msid` announces; by default the track's own. A browser announces
   * another one on a transceiver that the remote side's offer created.
   */
  msidTrackId: string | undefined;

  constructor(track: MediaStreamTrackLike, streams: readonly MediaStreamLike[], mid: string) {
    this.track = track;
    this.streams = streams;
    this.mid = mid;
  }

  replaceTrack(track: MediaStreamTrackLike | null): Promise<void> {
    if (this.failReplace) return Promise.reject(this.failReplace);
    this.track = track;
    return Promise.resolve();
  }
}
