import { h } from './dom.js';

/** Who sent a video, for its tile. */
export interface VideoSender {
  readonly peerId: string;
  /** The tile's caption: `Grace (camera)`. */
  readonly caption: string;
}

/**
 * The remote videos of the call: one tile (`figure[data-peer-id][data-stream-id]`) per remote
 * stream, hidden until its video has decoded a frame and gone when the track ends.
 *
 * Tiles follow the tracks, not the streams: after a reconnect the same stream id comes back on a
 * new connection with a new track, which takes over the tile of that stream id (the old track
 * ended with the old connection). A receiver the other side sends nothing on (a peer without a
 * camera answering ours) never decodes a frame, so it never shows a black tile. The decoded
 * frame is the test rather than the track's `muted` flag: Chromium leaves a track `muted` while
 * its frames play when the transceiver was created by `addTrack` and then taken by the other
 * side's offer, as happens when both sides renegotiate at once after a reconnect.
 */
export class RemoteVideos {
  readonly element: HTMLElement;

  constructor() {
    this.element = h('div', { class: 'videos', id: 'videos' });
  }

  /** Shows the local video first. */
  showLocal(stream: MediaStream, source: string): void {
    this.element.querySelector('#local-video')?.closest('figure')?.remove();
    const video = h('video', { id: 'local-video', muted: '', autoplay: '', playsinline: '' });
    video.muted = true;
    video.srcObject = stream;
    this.element.prepend(h('figure', {}, video, h('figcaption', {}, `You (${source})`)));
  }

  /** A remote track arrived (from a `Track` event): a video gets a tile, shown once it plays. */
  addTrack(sender: VideoSender, track: MediaStreamTrack, streams: readonly MediaStream[]): void {
    if (track.kind !== 'video') return;
    const stream = streams[0] ?? new MediaStream([track]);
    this.#show(sender, stream);
    track.addEventListener(
      'ended',
      () => {
        const tile = this.#tile(sender.peerId, stream.id);
        if (tile?.querySelector('video')?.srcObject === stream) tile.remove();
      },
      { once: true },
    );
  }

  /** Every track of this stream ended (a `StreamRemoved` event). */
  removeStream(peerId: string, streamId: string): void {
    this.#tile(peerId, streamId)?.remove();
  }

  /** The peer left, or its connection was replaced (its tracks went with it). */
  removePeer(peerId: string): void {
    this.element
      .querySelectorAll(`figure[data-peer-id="${CSS.escape(peerId)}"]`)
      .forEach((tile) => tile.remove());
  }

  #tile(peerId: string, streamId: string): HTMLElement | null {
    return this.element.querySelector<HTMLElement>(
      `figure[data-peer-id="${CSS.escape(peerId)}"][data-stream-id="${CSS.escape(streamId)}"]`,
    );
  }

  #show(sender: VideoSender, stream: MediaStream): void {
    let tile = this.#tile(sender.peerId, stream.id);
    if (!tile) {
      const video = h('video', { class: 'remote-video', muted: '', autoplay: '', playsinline: '' });
      video.muted = true;
      const created = h(
        'figure',
        { 'data-peer-id': sender.peerId, 'data-stream-id': stream.id, hidden: '' },
        video,
        h('figcaption', {}, ''),
      );
      // Fires for each new `srcObject` once its first frame is decoded.
      video.addEventListener('loadeddata', () => (created.hidden = false));
      this.element.append(created);
      tile = created;
    }
    const video = tile.querySelector('video');
    const caption = tile.querySelector('figcaption');
    if (caption) caption.textContent = sender.caption;
    if (video && video.srcObject !== stream) {
      tile.hidden = true;
      video.srcObject = stream;
      void video.play().catch(() => {});
    }
  }
}
