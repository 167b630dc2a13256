import { afterEach, describe, expect, it } from 'vitest';
import {
  NodeMediaStream,
  NodeMediaStreamTrack,
  RTCPeerConnection,
  createRtpPacket,
  type NodeRTCTrackEvent,
  type NodeRtpPacketEvent,
} from '../src/index.js';
import { LOOPBACK, createPair, nextEvent, until } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Two loopback connections signalled by hand: `offerer` offers, `answerer` only answers. */
function manualPair(): { offerer: RTCPeerConnection; answerer: RTCPeerConnection } {
  const offerer = new RTCPeerConnection(LOOPBACK);
  const answerer = new RTCPeerConnection(LOOPBACK);
  cleanups.push(() => {
    offerer.close();
    answerer.close();
  });
  offerer.onicecandidate = ({ candidate }) => {
    void answerer.addIceCandidate(candidate === null ? null : candidate.toJSON());
  };
  answerer.onicecandidate = ({ candidate }) => {
    void offerer.addIceCandidate(candidate === null ? null : candidate.toJSON());
  };
  return { offerer, answerer };
}

async function offerAnswer(offerer: RTCPeerConnection, answerer: RTCPeerConnection) {
  await offerer.setLocalDescription();
  await answerer.setRemoteDescription(offerer.localDescription!.toJSON());
  await answerer.setLocalDescription();
  await offerer.setRemoteDescription(answerer.localDescription!.toJSON());
}

/** Collects every `track` event of `pc`. */
function tracksOf(pc: RTCPeerConnection): NodeRTCTrackEvent[] {
  const events: NodeRTCTrackEvent[] = [];
  pc.addEventListener('track', (event) => events.push(event as NodeRTCTrackEvent));
  return events;
}

/** Writes RTP into `source` every 5 ms until stopped (at the end of the test at the latest). */
function pump(source: NodeMediaStreamTrack, payloadType: number): void {
  let sequenceNumber = 0;
  const timer = setInterval(() => {
    sequenceNumber++;
    source.writeRtp(
      createRtpPacket({
        payloadType,
        sequenceNumber,
        timestamp: sequenceNumber * 3000,
        ssrc: 7,
        payload: new Uint8Array([1, 2, 3, 4]),
      }),
    );
  }, 5);
  cleanups.unshift(() => clearInterval(timer));
}

/** Waits until `count` RTP packets arrived on `track`. */
async function packets(track: NodeMediaStreamTrack, count: number): Promise<void> {
  await until(track, ['rtp'], () => track.packetsReceived >= count, 10_000);
}

async function trackEvents(events: NodeRTCTrackEvent[], count: number, pc: RTCPeerConnection) {
  // `track` events are dispatched on `pc`; re-check whenever one arrives.
  await until(pc, ['track'], () => events.length >= count, 10_000);
}

function local(kind: 'audio' | 'video'): { track: NodeMediaStreamTrack; stream: NodeMediaStream } {
  const track = new NodeMediaStreamTrack({ kind });
  return { track, stream: new NodeMediaStream([track]) };
}

describe('tracks added before the offer arrives', () => {
  it('video on both sides: the answer carries the answerer track, both sides receive RTP', async () => {
    const { offerer, answerer } = manualPair();
    const atOfferer = tracksOf(offerer);
    const atAnswerer = tracksOf(answerer);
    const a = local('video');
    const b = local('video');
    offerer.addTrack(a.track, a.stream);
    answerer.addTrack(b.track, b.stream);
    await offerAnswer(offerer, answerer);

    const offerVideo = offerer.localDescription!.sdp.match(/^m=video/gm) ?? [];
    expect(offerVideo).toHaveLength(1);
    const answer = answerer.localDescription!.sdp;
    expect(answer.match(/^m=video/gm) ?? []).toHaveLength(1);
    expect(answer).toMatch(/^a=sendrecv/m);

    await trackEvents(atOfferer, 1, offerer);
    await trackEvents(atAnswerer, 1, answerer);
    expect(atOfferer.map((event) => event.track.kind)).toEqual(['video']);
    expect(atAnswerer.map((event) => event.track.kind)).toEqual(['video']);
    expect(atOfferer[0]!.streams.map((stream) => stream.id)).toEqual([b.stream.id]);
    expect(atAnswerer[0]!.streams.map((stream) => stream.id)).toEqual([a.stream.id]);
    expect(atAnswerer[0]!.transceiver.mid).toBe(offerer.getTransceivers()[0]!.mid);

    pump(a.track, 96);
    pump(b.track, 96);
    await packets(atAnswerer[0]!.track, 5);
    await packets(atOfferer[0]!.track, 5);
    const first = await nextEvent<NodeRtpPacketEvent>(atOfferer[0]!.track, 'rtp');
    expect(first.header?.ssrc).toBe(answerer.getSenders()[0]!.ssrc);
  });

  it('audio and video against video: every track arrives on the other side', async () => {
    const { offerer, answerer } = manualPair();
    const atOfferer = tracksOf(offerer);
    const atAnswerer = tracksOf(answerer);
    const mic = new NodeMediaStreamTrack({ kind: 'audio' });
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const stream = new NodeMediaStream([mic, camera]);
    offerer.addTrack(mic, stream);
    offerer.addTrack(camera, stream);
    const b = local('video');
    answerer.addTrack(b.track, b.stream);
    await offerAnswer(offerer, answerer);

    const answer = answerer.localDescription!.sdp;
    expect(answer.match(/^m=(audio|video)/gm)).toEqual(['m=audio', 'm=video']);

    await trackEvents(atAnswerer, 2, answerer);
    await trackEvents(atOfferer, 1, offerer);
    expect(atAnswerer.map((event) => event.track.kind).sort()).toEqual(['audio', 'video']);
    expect(atOfferer.map((event) => event.track.kind)).toEqual(['video']);

    pump(mic, 111);
    pump(camera, 96);
    pump(b.track, 96);
    for (const event of atAnswerer) await packets(event.track, 5);
    await packets(atOfferer[0]!.track, 5);
    expect(answerer.signalingState).toBe('stable');
  });

  it('both sides add before negotiating and their offers collide (perfect negotiation)', async () => {
    const pair = createPair();
    cleanups.push(pair.close);
    const { polite, impolite } = pair;
    const atPolite = tracksOf(polite);
    const atImpolite = tracksOf(impolite);
    const mic = new NodeMediaStreamTrack({ kind: 'audio' });
    const camera = new NodeMediaStreamTrack({ kind: 'video' });
    const stream = new NodeMediaStream([mic, camera]);
    polite.addTrack(mic, stream);
    polite.addTrack(camera, stream);
    const b = local('video');
    impolite.addTrack(b.track, b.stream);

    await trackEvents(atImpolite, 2, impolite);
    await trackEvents(atPolite, 1, polite);
    expect(atImpolite.map((event) => event.track.kind).sort()).toEqual(['audio', 'video']);
    expect(atPolite.map((event) => event.track.kind)).toEqual(['video']);
    expect(atPolite[0]!.streams.map((s) => s.id)).toEqual([b.stream.id]);

    pump(mic, 111);
    pump(camera, 96);
    pump(b.track, 96);
    for (const event of atImpolite) await packets(event.track, 5);
    await packets(atPolite[0]!.track, 5);
    expect(pair.politeLog.errors).toEqual([]);
    expect(pair.impoliteLog.errors).toEqual([]);
  });

  it('both sides add one video track and their offers collide', async () => {
    const pair = createPair();
    cleanups.push(pair.close);
    const { polite, impolite } = pair;
    const atPolite = tracksOf(polite);
    const atImpolite = tracksOf(impolite);
    const a = local('video');
    const b = local('video');
    polite.addTrack(a.track, a.stream);
    impolite.addTrack(b.track, b.stream);

    await trackEvents(atImpolite, 1, impolite);
    await trackEvents(atPolite, 1, polite);
    pump(a.track, 96);
    pump(b.track, 96);
    await packets(atImpolite[0]!.track, 5);
    await packets(atPolite[0]!.track, 5);
    expect(atPolite).toHaveLength(1);
    expect(atImpolite).toHaveLength(1);
    expect(pair.politeLog.errors).toEqual([]);
    expect(pair.impoliteLog.errors).toEqual([]);
  });
});
