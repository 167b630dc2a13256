import { DataChannel } from '@metered/datachannel';
import {
  ConnectionReset,
  DataChannelOpened,
  FatalError,
  MeteredPeer,
  PeerJoined,
  PeerLeft,
  StateChange,
  StreamRemoved,
  Track,
  type RemotePeer,
} from '@metered/peer';
import type { SignallingClient } from '@metered/signalling';
import { FILE_CHANNEL_PREFIX, receiveFile, sendFile, type FileHeader } from '../file-transfer.js';
import { avatar, h, showResult } from './dom.js';
import type { Identity } from './identity.js';
import type { LocalCall } from './local-call.js';
import { RemoteVideos } from './remote-videos.js';

function nameOf(remote: RemotePeer): string {
  const name = remote.metadata?.name;
  return typeof name === 'string' ? name : remote.id;
}

function colourOf(remote: RemotePeer): string {
  const colour = remote.metadata?.colour;
  return typeof colour === 'string' ? colour : '#64748b';
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export interface P2PViewOptions {
  readonly client: SignallingClient;
  readonly room: string;
  readonly identity: Identity;
  /** The tab's video call, kept across connections. */
  readonly call: LocalCall;
  readonly log: (text: string) => void;
}

/**
 * The peer-to-peer panel: a MeteredPeer on `demo/<room>/rtc` sharing the room's client, a file
 * transfer over a data channel (progress and SHA-256 check), and a video call.
 */
export class P2PView {
  readonly #options: P2PViewOptions;
  readonly #peer: MeteredPeer;
  readonly #root: HTMLElement;
  readonly #target: HTMLSelectElement;
  readonly #fileInput: HTMLInputElement;
  readonly #sendProgress: HTMLProgressElement;
  readonly #sendStatus: HTMLElement;
  readonly #receiveProgress: HTMLProgressElement;
  readonly #receiveStatus: HTMLElement;
  readonly #received: HTMLElement;
  readonly #remoteList: HTMLElement;
  readonly #videos = new RemoteVideos();
  readonly #callStatus: HTMLElement;

  constructor(root: HTMLElement, options: P2PViewOptions) {
    this.#options = options;
    this.#root = root;
    this.#peer = new MeteredPeer({ signallingClient: options.client });
    this.#target = h('select', { id: 'p2p-target', 'aria-label': 'Send to' });
    this.#fileInput = h('input', { id: 'p2p-file', type: 'file' });
    this.#sendProgress = h('progress', { id: 'p2p-send-progress', max: '1', value: '0' });
    this.#sendStatus = h(
      'p',
      { class: 'result', id: 'p2p-send-status', 'data-testid': 'p2p-send-status' },
      'Pick a file and a peer.',
    );
    this.#receiveProgress = h('progress', { id: 'p2p-receive-progress', max: '1', value: '0' });
    this.#receiveStatus = h(
      'p',
      { class: 'result', id: 'p2p-receive-status', 'data-testid': 'p2p-receive-status' },
      'Nothing received yet.',
    );
    this.#received = h('p', { class: 'result', id: 'p2p-received' });
    this.#remoteList = h('ul', { class: 'people', id: 'p2p-peers', 'data-testid': 'p2p-peers' });
    this.#callStatus = h('p', { class: 'result', id: 'call-status' }, 'No call yet.');
  }

  get peer(): MeteredPeer {
    return this.#peer;
  }

  /** Renders the panel and joins the WebRTC channel. */
  async start(): Promise<void> {
    const sendButton = h(
      'button',
      { type: 'button', id: 'p2p-send', class: 'primary' },
      'Send file',
    );
    const sampleButton = h('button', { type: 'button', id: 'p2p-sample' }, 'Send a 1 MiB sample');
    const callButton = h(
      'button',
      { type: 'button', id: 'call-start', class: 'primary' },
      'Start video',
    );
    sendButton.addEventListener('click', () => void this.#sendChosenFile());
    sampleButton.addEventListener('click', () => void this.#sendSample());
    callButton.addEventListener('click', () => void this.#startCall(callButton));
    // Media is sent once the channel is joined.
    callButton.disabled = true;

    this.#root.replaceChildren(
      h('h2', {}, 'Peer to peer ', h('span', { class: 'count' }, 'WebRTC')),
      h(
        'div',
        { class: 'p2p-grid' },
        h(
          'div',
          {},
          h('h3', {}, 'Peers on the data plane'),
          this.#remoteList,
          h('h3', {}, 'Send a file over a data channel'),
          h('div', { class: 'row' }, h('label', {}, 'To ', this.#target), this.#fileInput),
          h('div', { class: 'row' }, sendButton, sampleButton),
          this.#sendProgress,
          this.#sendStatus,
          h('h3', {}, 'Received'),
          this.#receiveProgress,
          this.#receiveStatus,
          this.#received,
        ),
        h(
          'div',
          {},
          h('h3', {}, 'Video call'),
          h('div', { class: 'row' }, callButton),
          this.#callStatus,
          this.#videos.element,
        ),
      ),
    );
    this.#root.hidden = false;

    const peer = this.#peer;
    peer.on(PeerJoined, ({ peer: remote }) => this.#addRemote(remote));
    peer.on(PeerLeft, ({ peer: remote }) => {
      this.#options.log(`p2p: ${nameOf(remote)} left`);
      this.#renderRemotes();
      this.#videos.removePeer(remote.id);
    });
    peer.on(FatalError, ({ err }) => this.#options.log(`p2p: fatal ${String(err)}`));
    try {
      await peer.join(`demo/${this.#options.room}/rtc`);
      this.#options.log('p2p: joined the WebRTC channel');
    } catch (error) {
      this.#options.log(`p2p: join failed: ${String(error)}`);
      return;
    }
    // A call started before a reconnect that replaced the client (a kick, then rejoin) goes on,
    // once joined: media is added to a joined peer only.
    if (this.#options.call.media) await this.#startCall(callButton);
    else callButton.disabled = false;
  }

  /**
   * Leaves the channel (and closes the shared client, which is already closed when replaced).
   * The call's camera stays on for the next view.
   */
  close(): void {
    void this.#peer.close();
  }

  #addRemote(remote: RemotePeer): void {
    this.#options.log(`p2p: ${nameOf(remote)} joined`);
    remote.on(StateChange, () => this.#renderRemotes());
    remote.on(ConnectionReset, () => {
      // A new connection replaced the old one, whose tracks ended with it: the videos come back
      // as the new connection's tracks arrive.
      this.#videos.removePeer(remote.id);
      this.#renderRemotes();
    });
    remote.on(DataChannelOpened, ({ channel }) => {
      if ((channel as unknown as RTCDataChannel).label.startsWith(FILE_CHANNEL_PREFIX)) {
        void this.#receive(remote, new DataChannel(channel));
      }
    });
    remote.on(Track, ({ track, streams, metadata }) => {
      const source = typeof metadata?.source === 'string' ? metadata.source : 'video';
      this.#videos.addTrack(
        { peerId: remote.id, caption: `${nameOf(remote)} (${source})` },
        track as unknown as MediaStreamTrack,
        streams as unknown as readonly MediaStream[],
      );
    });
    remote.on(StreamRemoved, ({ stream }) => this.#videos.removeStream(remote.id, stream.id));
    this.#renderRemotes();
  }

  #renderRemotes(): void {
    const remotes = [...this.#peer.remotePeers.values()];
    this.#remoteList.replaceChildren(
      ...remotes.map((remote) =>
        h(
          'li',
          { 'data-peer-id': remote.id, 'data-state': remote.state },
          avatar(nameOf(remote), colourOf(remote)),
          h('span', { class: 'name' }, nameOf(remote)),
          h('span', { class: 'you' }, remote.state),
        ),
      ),
    );
    if (remotes.length === 0) {
      this.#remoteList.append(h('li', { class: 'hint' }, 'Nobody else yet: open a second tab.'));
    }
    const selected = this.#target.value;
    this.#target.replaceChildren(
      ...remotes.map((remote) => h('option', { value: remote.id }, nameOf(remote))),
    );
    if (remotes.some((remote) => remote.id === selected)) this.#target.value = selected;
  }

  async #sendChosenFile(): Promise<void> {
    const file = this.#fileInput.files?.[0];
    if (!file) {
      showResult(this.#sendStatus, 'error', 'Choose a file first.');
      return;
    }
    await this.#send(file.name, file.type, new Uint8Array(await file.arrayBuffer()));
  }

  async #sendSample(): Promise<void> {
    const bytes = new Uint8Array(1024 * 1024);
    for (let offset = 0; offset < bytes.length; offset += 65_536) {
      crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
    }
    await this.#send('sample.bin', 'application/octet-stream', bytes);
  }

  async #send(name: string, mime: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const remote = this.#peer.remotePeers.get(this.#target.value);
    if (!remote) {
      showResult(this.#sendStatus, 'error', 'No peer to send to: open a second tab.');
      return;
    }
    const label = `${FILE_CHANNEL_PREFIX}${crypto.randomUUID()}`;
    const channel = new DataChannel(remote.createDataChannel(label, { ordered: true }));
    this.#sendProgress.max = Math.max(bytes.byteLength, 1);
    this.#sendProgress.value = 0;
    showResult(
      this.#sendStatus,
      'pending',
      `Sending ${name} (${formatBytes(bytes.byteLength)}) to ${nameOf(remote)}…`,
    );
    try {
      const verdict = await sendFile(channel, { name, mime, bytes }, (done) => {
        this.#sendProgress.value = done;
      });
      showResult(
        this.#sendStatus,
        verdict.ok ? 'ok' : 'error',
        verdict.ok
          ? `Sent ${name}: ${nameOf(remote)} verified SHA-256 ${verdict.sha256.slice(0, 16)}…`
          : `Sent ${name}, but the checksum did not match on the other side.`,
      );
    } catch (error) {
      showResult(this.#sendStatus, 'error', `Transfer failed: ${String(error)}`);
    } finally {
      channel.close();
    }
  }

  async #receive(remote: RemotePeer, channel: DataChannel): Promise<void> {
    let header: FileHeader | undefined;
    try {
      const file = await receiveFile(channel, {
        onHeader: (value) => {
          header = value;
          this.#receiveProgress.max = Math.max(value.size, 1);
          showResult(
            this.#receiveStatus,
            'pending',
            `Receiving ${value.name} (${formatBytes(value.size)}) from ${nameOf(remote)}…`,
          );
        },
        onProgress: (done) => {
          this.#receiveProgress.value = done;
        },
      });
      showResult(
        this.#receiveStatus,
        file.ok ? 'ok' : 'error',
        file.ok
          ? `Received ${file.header.name} (${formatBytes(file.bytes.byteLength)}) from ${nameOf(remote)}: SHA-256 matches ${file.sha256.slice(0, 16)}…`
          : `Received ${file.header.name}: SHA-256 mismatch`,
      );
      const blob = new Blob([file.bytes], { type: file.header.mime });
      const link = h(
        'a',
        { href: URL.createObjectURL(blob), download: file.header.name },
        `Save ${file.header.name}`,
      );
      this.#received.replaceChildren(link);
    } catch (error) {
      showResult(
        this.#receiveStatus,
        'error',
        `Receiving ${header?.name ?? 'a file'} failed: ${String(error)}`,
      );
    }
  }

  async #startCall(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    const { stream, source } = await this.#options.call.start();
    this.#videos.showLocal(stream, source);
    this.#peer.addStream(stream, { source });
    showResult(this.#callStatus, 'ok', `Sending your ${source} to everyone on the data plane.`);
  }
}
