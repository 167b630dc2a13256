import { createHash } from 'node:crypto';
import { DCClose, DCMessage, DataChannel } from '@metered/datachannel';
import { afterEach, describe, expect, it } from 'vitest';
import { createPair, nextEvent, until } from '../test/helpers.js';
import {
  NodeMediaStream,
  NodeMediaStreamTrack,
  createRtpPacket,
  type NodeMessageEvent,
  type NodeRTCDataChannel,
  type NodeRTCDataChannelEvent,
  type NodeRTCTrackEvent,
  type NodeRtpPacketEvent,
  RTCPeerConnection,
} from './index.js';

const pairs: Array<{ close: () => void }> = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close();
});

function pair() {
  const created = createPair();
  pairs.push(created);
  return created;
}

async function connected(pc: RTCPeerConnection): Promise<void> {
  await until(pc, ['connectionstatechange'], () => pc.connectionState === 'connected');
}

async function opened(channel: NodeRTCDataChannel): Promise<void> {
  await until(channel, ['open'], () => channel.readyState === 'open');
}

/** Opens a channel from `from`; resolves with both ends once both are open. */
async function openChannel(
  from: RTCPeerConnection,
  to: RTCPeerConnection,
  label: string,
): Promise<[NodeRTCDataChannel, NodeRTCDataChannel]> {
  const remote = nextEvent<NodeRTCDataChannelEvent>(
    to,
    'datachannel',
    (event) => event.channel.label === label,
  );
  const local = from.createDataChannel(label);
  const { channel } = await remote;
  await Promise.all([opened(local), opened(channel)]);
  return [local, channel];
}

describe('RTCPeerConnection over node-datachannel', () => {
  it('negotiates with perfect negotiation and exchanges strings and binary', async () => {
    const { polite, impolite, politeLog, impoliteLog } = pair();
    const [local, remote] = await openChannel(impolite, polite, 'chat');
    await Promise.all([connected(polite), connected(impolite)]);
    expect(polite.signalingState).toBe('stable');
    expect(impolite.signalingState).toBe('stable');
    expect(impolite.currentLocalDescription?.type).toBe('offer');
    expect(polite.currentLocalDescription?.type).toBe('answer');
    expect(polite.remoteDescription?.sdp).toBe(impolite.localDescription?.sdp);
    expect(['connected', 'completed']).toContain(polite.iceConnectionState);

    expect(local.label).toBe('chat');
    expect(remote.label).toBe('chat');
    expect(typeof remote.id).toBe('number');
    expect(remote.id).toBe(local.id);

    // Browser-style candidates: no `a=` prefix, mid and index, end as null.
    await until(
      impolite,
      ['icegatheringstatechange'],
      () => impolite.iceGatheringState === 'complete',
    );
    const candidates = impoliteLog.candidates.filter((c) => c !== null);
    expect(candidates.length).toBeGreaterThan(0);
    for (const candidate of candidates) {
      expect(candidate.candidate).toMatch(/^candidate:/);
      expect(candidate.candidate).toContain('127.0.0.1');
      expect(candidate.sdpMid).toBe('0');
      expect(candidate.sdpMLineIndex).toBe(0);
      expect(typeof candidate.usernameFragment).toBe('string');
    }
    expect(impoliteLog.candidates.at(-1)).toBeNull();
    expect(politeLog.errors).toEqual([]);
    expect(impoliteLog.errors).toEqual([]);

    const text = nextEvent<NodeMessageEvent>(remote, 'message');
    local.send('héllo');
    expect((await text).data).toBe('héllo');

    const binary = nextEvent<NodeMessageEvent>(local, 'message');
    remote.send(new Uint8Array([1, 2, 3, 250]));
    const data = (await binary).data;
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(data as ArrayBuffer)]).toEqual([1, 2, 3, 250]);

    const view = nextEvent<NodeMessageEvent>(remote, 'message');
    local.send(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    expect([...new Uint8Array((await view).data as ArrayBuffer)]).toEqual([8, 7]);

    // Each message is an ArrayBuffer of its own (no copy needed, none shared between messages).
    const twoMessages: ArrayBuffer[] = [];
    const collect = (event: Event): void => {
      twoMessages.push((event as NodeMessageEvent).data as ArrayBuffer);
    };
    remote.addEventListener('message', collect);
    const both = until(remote, ['message'], () => twoMessages.length === 2);
    const shared = new Uint8Array([5, 6, 7, 8, 9]);
    local.send(shared.subarray(0, 2));
    local.send(shared.subarray(2));
    await both;
    remote.removeEventListener('message', collect);
    expect(twoMessages.map((buffer) => [...new Uint8Array(buffer)])).toEqual([
      [5, 6],
      [7, 8, 9],
    ]);
    expect(twoMessages[0]).not.toBe(twoMessages[1]);

    remote.binaryType = 'blob';
    const blob = nextEvent<NodeMessageEvent>(remote, 'message');
    local.send(new Uint8Array([4, 2]));
    const blobData = (await blob).data;
    expect(blobData).toBeInstanceOf(Blob);
    expect([...new Uint8Array(await (blobData as Blob).arrayBuffer())]).toEqual([4, 2]);
    remote.binaryType = 'arraybuffer';

    let propertyHandlerCalls = 0;
    remote.onmessage = () => {
      propertyHandlerCalls++;
    };
    const viaListener = nextEvent<NodeMessageEvent>(remote, 'message');
    local.send('again');
    await viaListener;
    expect(propertyHandlerCalls).toBe(1);

    const closing = nextEvent(remote, 'close');
    local.close();
    await closing;
    expect(remote.readyState).toBe('closed');
    expect(() => local.send('late')).toThrow(/closed|closing/);
  });

  it('respects backpressure: bufferedAmount grows, bufferedamountlow fires, everything arrives', async () => {
    const { polite, impolite } = pair();
    const [local, remote] = await openChannel(polite, impolite, 'bulk');
    const chunk = new Uint8Array(64 * 1024);
    local.bufferedAmountLowThreshold = 256 * 1024;
    expect(local.bufferedAmountLowThreshold).toBe(256 * 1024);
    let received = 0;
    remote.onmessage = (event) => {
      received += (event.data as ArrayBuffer).byteLength;
    };
    let sent = 0;
    // Fill the buffer past the threshold; bounded so a missing buffer cannot loop forever.
    while (local.bufferedAmount <= local.bufferedAmountLowThreshold && sent < 1024 * chunk.length) {
      local.send(chunk);
      sent += chunk.length;
    }
    expect(local.bufferedAmount).toBeGreaterThan(local.bufferedAmountLowThreshold);
    await nextEvent(local, 'bufferedamountlow');
    expect(local.bufferedAmount).toBeLessThanOrEqual(local.bufferedAmountLowThreshold);
    await until(remote, ['message'], () => received === sent, 20_000);
  });

  it('transfers 1 MiB through @metered/datachannel with a matching checksum', async () => {
    const { polite, impolite } = pair();
    const [local, remote] = await openChannel(impolite, polite, 'file');
    const sender = new DataChannel(local, { maxBufferedAmount: 256 * 1024 });
    const receiver = new DataChannel(remote);
    const payload = new Uint8Array(1024 * 1024);
    for (let index = 0; index < payload.length; index++) payload[index] = (index * 31 + 7) & 0xff;
    const hash = createHash('sha256');
    let received = 0;
    const complete = new Promise<void>((resolve) => {
      const off = receiver.on(DCMessage, (event) => {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        hash.update(bytes);
        received += bytes.byteLength;
        if (received === payload.length) {
          off();
          resolve();
        }
      });
    });
    const chunkSize = 16 * 1024;
    const sends: Array<Promise<void>> = [];
    for (let offset = 0; offset < payload.length; offset += chunkSize) {
      sends.push(sender.send(payload.subarray(offset, offset + chunkSize)));
    }
    await Promise.all(sends);
    await complete;
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));

    // A single send larger than the cap settles too.
    const big = new Uint8Array(200 * 1024);
    const small = new DataChannel(local, { maxBufferedAmount: 64 * 1024 });
    const arrived = new Promise<number>((resolve) => {
      remote.addEventListener('message', (event) => {
        resolve(((event as NodeMessageEvent).data as ArrayBuffer).byteLength);
      });
    });
    await small.send(big);
    expect(await arrived).toBe(big.byteLength);

    const closed = new Promise<void>((resolve) => receiver.once(DCClose, () => resolve()));
    await sender[Symbol.asyncDispose]();
    await closed;
  });

  it('restarts ICE by renegotiating and keeps working', async () => {
    const { polite, impolite, politeLog, impoliteLog } = pair();
    const [local, remote] = await openChannel(impolite, polite, 'restart');
    const renegotiated = nextEvent(polite, 'negotiationneeded');
    const offered = nextEvent(
      polite,
      'signalingstatechange',
      () => polite.signalingState === 'have-local-offer',
    );
    polite.restartIce();
    await renegotiated;
    await offered;
    await until(polite, ['signalingstatechange'], () => polite.signalingState === 'stable');
    expect(impolite.signalingState).toBe('stable');
    expect(polite.currentLocalDescription?.type).toBe('offer');
    const message = nextEvent<NodeMessageEvent>(remote, 'message');
    local.send('still here');
    expect((await message).data).toBe('still here');
    expect(polite.connectionState).toBe('connected');
    expect(politeLog.errors).toEqual([]);
    expect(impoliteLog.errors).toEqual([]);
  });

  it('resolves glare with perfect negotiation when both sides offer at once', async () => {
    const { polite, impolite, politeLog, impoliteLog } = pair();
    const toPolite = nextEvent<NodeRTCDataChannelEvent>(polite, 'datachannel');
    const toImpolite = nextEvent<NodeRTCDataChannelEvent>(impolite, 'datachannel');
    const fromPolite = polite.createDataChannel('from-polite');
    const fromImpolite = impolite.createDataChannel('from-impolite');
    const [{ channel: atPolite }, { channel: atImpolite }] = await Promise.all([
      toPolite,
      toImpolite,
    ]);
    await Promise.all([
      opened(fromPolite),
      opened(fromImpolite),
      opened(atPolite),
      opened(atImpolite),
    ]);
    expect(atPolite.label).toBe('from-impolite');
    expect(atImpolite.label).toBe('from-polite');
    expect(impoliteLog.ignoredOffers).toBeGreaterThanOrEqual(1);
    await until(polite, ['signalingstatechange'], () => polite.signalingState === 'stable');
    await until(impolite, ['signalingstatechange'], () => impolite.signalingState === 'stable');
    expect(politeLog.errors).toEqual([]);
    expect(impoliteLog.errors).toEqual([]);
    const message = nextEvent<NodeMessageEvent>(atImpolite, 'message');
    fromPolite.send('after glare');
    expect((await message).data).toBe('after glare');
  });

  it('sends a media track whose packets arrive on the other side', async () => {
    const { polite, impolite } = pair();
    await openChannel(impolite, polite, 'control');
    const stream = new NodeMediaStream();
    const track = new NodeMediaStreamTrack({ kind: 'video' });
    stream.addTrack(track);
    const trackEvent = nextEvent<NodeRTCTrackEvent>(polite, 'track');
    const sender = impolite.addTrack(track, stream);
    expect(sender.track).toBe(track);
    expect(impolite.getSenders()).toContain(sender);
    const { track: remoteTrack, streams, receiver, transceiver } = await trackEvent;
    expect(remoteTrack.kind).toBe('video');
    expect(remoteTrack.id).toBe(track.id);
    expect(streams.map((s) => s.id)).toEqual([stream.id]);
    expect(polite.getReceivers()).toContain(receiver);
    expect(polite.getTransceivers()).toContain(transceiver);
    expect(transceiver.mid).not.toBeNull();
    await until(impolite, ['signalingstatechange'], () => impolite.signalingState === 'stable');

    // Write frames until the first one is observed remotely (bounded by the helper's timeout).
    let sequenceNumber = 0;
    const writeFrom = (source: NodeMediaStreamTrack, marker: number) => {
      const timer = setInterval(() => {
        source.writeRtp(
          createRtpPacket({
            payloadType: 96,
            sequenceNumber: sequenceNumber++,
            timestamp: sequenceNumber * 3000,
            ssrc: 1,
            payload: new Uint8Array([marker, 1, 2, 3]),
          }),
        );
      }, 5);
      return () => clearInterval(timer);
    };
    let stop = writeFrom(track, 0xaa);
    try {
      const first = await nextEvent<NodeRtpPacketEvent>(remoteTrack, 'rtp');
      expect(first.header?.payloadType).toBe(96);
      expect(first.header?.ssrc).toBe(sender.ssrc);
    } finally {
      stop();
    }
    expect(remoteTrack.packetsReceived).toBeGreaterThan(0);
    expect(track.packetsSent).toBeGreaterThan(0);

    // replaceTrack: packets now come from the new track, without renegotiation.
    const replacement = new NodeMediaStreamTrack({ kind: 'video' });
    await sender.replaceTrack(replacement);
    expect(sender.track).toBe(replacement);
    stop = writeFrom(replacement, 0xbb);
    try {
      await nextEvent<NodeRtpPacketEvent>(remoteTrack, 'rtp', (event) => event.packet[12] === 0xbb);
    } finally {
      stop();
    }
    expect(track.writeRtp(new Uint8Array(16))).toBe(false);
    await expect(
      sender.replaceTrack(new NodeMediaStreamTrack({ kind: 'audio' })),
    ).rejects.toBeInstanceOf(TypeError);

    const stats = await impolite.getStats();
    const types = [...stats.values()].map((entry) => entry.type);
    expect(types).toEqual(expect.arrayContaining(['transport', 'candidate-pair', 'outbound-rtp']));
    const transport = [...stats.values()].find((entry) => entry.type === 'transport')!;
    expect(typeof transport.bytesSent).toBe('number');
    expect(typeof transport.bytesReceived).toBe('number');
    const inbound = [...(await polite.getStats()).values()].find((e) => e.type === 'inbound-rtp');
    expect(inbound?.packetsReceived).toBeGreaterThan(0);

    impolite.removeTrack(sender);
    expect(sender.track).toBeNull();
  });

  it('rejects offers with nothing to negotiate instead of crashing', async () => {
    const { polite } = pair();
    await expect(polite.createOffer()).rejects.toMatchObject({ name: 'InvalidStateError' });
    await expect(polite.setLocalDescription({ type: 'answer' })).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
  });

  it('rolls back a local offer and stays usable', async () => {
    const { polite } = pair();
    polite.onnegotiationneeded = null;
    polite.createDataChannel('x');
    const states: string[] = [];
    polite.addEventListener('signalingstatechange', () => states.push(polite.signalingState));
    await polite.setLocalDescription({ type: 'offer' });
    expect(polite.pendingLocalDescription?.type).toBe('offer');
    await polite.setLocalDescription({ type: 'rollback' });
    expect(polite.localDescription).toBeNull();
    expect(states).toEqual(['have-local-offer', 'stable']);
    const offer = await polite.createOffer();
    expect(offer.sdp).toMatch(/^m=application/m);
  });

  it("holds a first offer's candidates until its answer is applied, then connects", async () => {
    // Driven by hand (no signalling pair): the answer is applied only when the test says so.
    const offerer = new RTCPeerConnection();
    const answerer = new RTCPeerConnection();
    pairs.push({ close: () => (offerer.close(), answerer.close()) });
    const offererCandidates: (string | null)[] = [];
    const answererCandidates: (string | null)[] = [];
    offerer.onicecandidate = ({ candidate }) =>
      offererCandidates.push(candidate?.candidate ?? null);
    answerer.onicecandidate = ({ candidate }) => {
      answererCandidates.push(candidate?.candidate ?? null);
      if (candidate) void offerer.addIceCandidate(candidate);
    };
    offerer.createDataChannel('held');
    await offerer.setLocalDescription({ type: 'offer' });
    expect(offerer.localDescription?.sdp).not.toMatch(/^a=candidate:/m);
    await answerer.setRemoteDescription(offerer.localDescription!);
    await answerer.setLocalDescription({ type: 'answer' });
    // The answerer gathers and sends its candidates; the offerer has sent none so far.
    await until(answerer, ['icecandidate'], () => answererCandidates.includes(null));
    expect(offererCandidates).toEqual([]);
    await offerer.setRemoteDescription(answerer.localDescription!);
    await until(offerer, ['icecandidate'], () => offererCandidates.includes(null));
    expect(offererCandidates.filter((candidate) => candidate !== null).length).toBeGreaterThan(0);
    for (const candidate of offererCandidates) {
      if (candidate) await answerer.addIceCandidate({ candidate, sdpMid: '0' });
    }
    await Promise.all([connected(offerer), connected(answerer)]);
  });

  it('exposes configuration and closes idempotently', async () => {
    const { polite, impolite } = pair();
    await openChannel(polite, impolite, 'c');
    expect(polite.getConfiguration().iceServers).toEqual([]);
    polite.setConfiguration({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] });
    expect(polite.getConfiguration().iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }]);
    polite.close();
    polite.close();
    expect(polite.signalingState).toBe('closed');
    expect(polite.connectionState).toBe('closed');
    expect(() => polite.createDataChannel('late')).toThrow(/closed/);
    await expect(polite.createOffer()).rejects.toMatchObject({ name: 'InvalidStateError' });
  });
});
