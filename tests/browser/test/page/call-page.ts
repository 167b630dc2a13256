// Runs inside the page (bundled with @metered/peer by sdk-page.ts): a browser MeteredPeer in a
// call with one other member. The test drives it through `window.callPage` and reads what it saw
// through `snapshot()`. Tokens come from the test (`window.mintToken`, exposed by Playwright).
import {
  ConnectionReset,
  MeteredPeer,
  PeerLeft,
  StateChange,
  Track,
  type RemotePeer,
  type RTCPeerConnectionLike,
} from '@metered/peer';

declare global {
  interface Window {
    mintToken(): Promise<string>;
  }
}

/** What the page saw of its call, serialisable for `page.evaluate`. */
export interface PageCallSnapshot {
  readonly state: string;
  /** Times the signalling connection went to `reconnecting`. */
  readonly reconnects: number;
  readonly connectionState: string | null;
  /** The remote peer's connection is the one the call started on (identity, in the page). */
  readonly sameConnection: boolean;
  readonly resets: number;
  readonly left: number;
  readonly tracks: number;
  readonly channelState: string | null;
  readonly sent: number;
  readonly failedSends: number;
  /** The numbers received over the data channel, in arrival order. */
  readonly received: readonly number[];
  /** RTP packets received on the remote video (inbound-rtp `packetsReceived`). */
  readonly videoPacketsReceived: number;
}

let peer: MeteredPeer | undefined;
let remote: RemotePeer | undefined;
let connectionAtStart: RTCPeerConnectionLike | undefined;
let channel: RTCDataChannel | undefined;
let camera: MediaStream | undefined;
let numbers: ReturnType<typeof setInterval> | undefined;
const received: number[] = [];
let reconnects = 0;
let resets = 0;
let left = 0;
let tracks = 0;
let sent = 0;
let failedSends = 0;

/** Joins `room` on `url` with the test's tokens and a short reconnect backoff. */
export async function join(url: string, room: string): Promise<string> {
  peer = new MeteredPeer({
    url,
    tokenProvider: () => window.mintToken(),
    reconnect: {
      initialDelayMs: 200,
      maxDelayMs: 1_000,
      multiplier: 2,
      jitterRatio: 0.2,
      maxAttempts: 50,
    },
  });
  peer.on(StateChange, ({ to }) => {
    if (to === 'reconnecting') reconnects += 1;
  });
  peer.on(PeerLeft, () => {
    left += 1;
  });
  await peer.join(room);
  return peer.peerId as string;
}

/** The ids of the other members the page knows. */
export function members(): string[] {
  return [...(peer?.remotePeers.keys() ?? [])];
}

function requirePeer(): MeteredPeer {
  if (!peer) throw new Error('join first');
  return peer;
}

/** Opens the `numbers` data channel to `otherId` and sends it the fake camera. */
export async function startCall(otherId: string): Promise<void> {
  const local = requirePeer();
  const found = local.remotePeers.get(otherId);
  if (!found) throw new Error(`${otherId} is not in the room`);
  remote = found;
  connectionAtStart = found.pc;
  found.on(ConnectionReset, () => {
    resets += 1;
  });
  found.on(Track, () => {
    tracks += 1;
  });
  channel = found.createDataChannel('numbers') as unknown as RTCDataChannel;
  channel.onmessage = (event: MessageEvent<string>) => received.push(Number(event.data));
  camera = await navigator.mediaDevices.getUserMedia({
    video: { width: 320, height: 240, frameRate: 15 },
  });
  for (const track of camera.getTracks()) local.addTrack(track, camera, { role: 'camera' });
}

/** Sends a numbered message every 20 ms; a send that throws counts as failed. */
export function startNumbers(): void {
  numbers = setInterval(() => {
    const n = sent++;
    try {
      channel?.send(String(n));
    } catch {
      failedSends += 1;
    }
  }, 20);
}

export function stopNumbers(): void {
  clearInterval(numbers);
}

export async function snapshot(): Promise<PageCallSnapshot> {
  let videoPacketsReceived = 0;
  const pc = remote?.pc as unknown as RTCPeerConnection | undefined;
  if (pc && pc.connectionState !== 'closed') {
    const stats = await pc.getStats();
    stats.forEach((report: { type: string; kind?: string; packetsReceived?: number }) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') {
        videoPacketsReceived += report.packetsReceived ?? 0;
      }
    });
  }
  return {
    state: peer?.state ?? 'none',
    reconnects,
    connectionState: pc?.connectionState ?? null,
    sameConnection: remote !== undefined && remote.pc === connectionAtStart,
    resets,
    left,
    tracks,
    channelState: channel?.readyState ?? null,
    sent,
    failedSends,
    received: [...received],
    videoPacketsReceived,
  };
}

export async function close(): Promise<void> {
  clearInterval(numbers);
  channel?.close();
  for (const track of camera?.getTracks() ?? []) track.stop();
  await peer?.close();
}
