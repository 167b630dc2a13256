import { afterEach, describe, expect, it } from 'vitest';
import {
  NodeMediaStream,
  NodeMediaStreamTrack,
  type NodeRTCDataChannel,
  type NodeRTCDataChannelEvent,
  RTCPeerConnection,
} from '../src/index.js';
import { LOOPBACK, createPair, nextEvent, until } from './helpers.js';

const pairs: Array<{ close: () => void }> = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close();
});

async function connected(pc: RTCPeerConnection): Promise<void> {
  await until(pc, ['connectionstatechange'], () => pc.connectionState === 'connected');
}

async function opened(channel: NodeRTCDataChannel): Promise<void> {
  await until(channel, ['open'], () => channel.readyState === 'open');
}

/**
 * A pair whose first negotiation carries media only (a video track from `impolite`, which
 * offers), connected; then `opener` creates a data channel, which a renegotiation (an
 * application m-line) brings to the other side.
 */
async function dataChannelAfterMedia(opener: 'first offerer' | 'first answerer') {
  const pair = createPair();
  pairs.push(pair);
  const { polite, impolite } = pair;
  const track = new NodeMediaStreamTrack({ kind: 'video' });
  impolite.addTrack(track, new NodeMediaStream([track]));
  await Promise.all([connected(polite), connected(impolite)]);
  // The first offer carries the application m-line already: no renegotiation needs to add it.
  expect(impolite.currentLocalDescription?.sdp).toMatch(/^m=application [1-9]/m);
  expect(impolite.getTransceivers().length).toBe(1);
  const [from, to] = opener === 'first offerer' ? [impolite, polite] : [polite, impolite];
  const remote = nextEvent<NodeRTCDataChannelEvent>(to, 'datachannel');
  const channel = from.createDataChannel('late');
  const { channel: received } = await remote;
  await Promise.all([opened(channel), opened(received)]);
  const message = nextEvent<MessageEvent>(received, 'message');
  channel.send('after media');
  expect((await message).data).toBe('after media');
  expect(from.localDescription?.sdp).toMatch(/^m=application/m);
  expect([polite.connectionState, impolite.connectionState]).toEqual(['connected', 'connected']);
  expect([...pair.politeLog.errors, ...pair.impoliteLog.errors]).toEqual([]);
}

describe('a data channel created after a media-only negotiation', () => {
  it('opens when the first offerer creates it', async () => {
    await dataChannelAfterMedia('first offerer');
  });

  it('opens when the first answerer creates it', async () => {
    await dataChannelAfterMedia('first answerer');
  });
});

/** `sdp` without its application m-line, as a browser offers media only. */
function withoutApplication(sdp: string): string {
  const mid = /^m=application[^]*?^a=mid:(\S+)/m.exec(sdp)?.[1] ?? '';
  return sdp
    .replace(/^m=application[^]*?(?=^m=|(?![^]))/m, '')
    .replace(/^(a=group:BUNDLE .*)$/m, (line) =>
      line
        .split(' ')
        .filter((token) => token !== mid)
        .join(' '),
    );
}

describe('a connection another stack negotiated without an application m-line', () => {
  it('refuses a data channel with OperationError on both sides and keeps its state', async () => {
    const offerer = new RTCPeerConnection(LOOPBACK);
    const answerer = new RTCPeerConnection(LOOPBACK);
    pairs.push({ close: () => (offerer.close(), answerer.close()) });
    const track = new NodeMediaStreamTrack({ kind: 'video' });
    offerer.addTrack(track, new NodeMediaStream([track]));
    await offerer.setLocalDescription();
    const mediaOnly = withoutApplication(offerer.localDescription!.sdp);
    expect(mediaOnly).not.toMatch(/^m=application/m);
    await answerer.setRemoteDescription({ type: 'offer', sdp: mediaOnly });
    await answerer.setLocalDescription();
    expect(answerer.currentLocalDescription?.sdp).not.toMatch(/^m=application/m);

    expect(() => answerer.createDataChannel('late')).toThrow(
      expect.objectContaining({ name: 'OperationError' }) as Error,
    );
    // A later offer that adds the application m-line (here: the first one, in full).
    await expect(
      answerer.setRemoteDescription({ type: 'offer', sdp: offerer.localDescription!.sdp }),
    ).rejects.toMatchObject({ name: 'OperationError' });
    expect(answerer.signalingState).toBe('stable');
    expect(answerer.remoteDescription?.sdp).toBe(mediaOnly);
  });
});
