import { encodePublish, encodeSend, trackMetaPayload, utf8ByteLength } from '@metered/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPeer, flush, until, useFakeTimers } from '../test/harness.js';
import { FakeRoom } from './testing/index.js';
import { MeteredPeerOversizedError, type MeteredPeer } from './index.js';
import { createFakePeerConnectionFactory, FakeMediaStreamTrack } from './testing/index.js';

beforeEach(() => {
  useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const REQUEST_ID = '8c1f43a2-5d0e-4b7a-9f3c-2e6d1a0b9c8d';
const publishBytes = (channel: string, data: unknown): number =>
  utf8ByteLength(encodePublish(channel, data, REQUEST_ID));
const sendBytes = (to: string, data: unknown): number =>
  utf8ByteLength(encodeSend(to, data, REQUEST_ID));

async function pairWithCap(
  cap: number,
): Promise<{ room: FakeRoom; a: MeteredPeer; b: MeteredPeer }> {
  const room = new FakeRoom();
  room.welcomeFields.set('peer-a', { maxMessageSize: cap });
  const pcs = createFakePeerConnectionFactory();
  const a = createPeer(room, 'peer-a', pcs);
  const b = createPeer(room, 'peer-b', pcs);
  await a.join('room-1');
  await b.join('room-1');
  await until(() => a.remotePeers.has('peer-b'), 'discovery');
  return { room, a, b };
}

describe('the size check measures the frame that will be sent', () => {
  it('send: a frame of exactly the cap goes out, one byte more is refused with the frame size', async () => {
    const cap = 300;
    const { room, a, b } = await pairWithCap(cap);
    const fits = 'x'.repeat(cap - publishBytes('room-1', ''));
    expect(publishBytes('room-1', fits)).toBe(cap);
    const before = room.framesOf('peer-a', 'publish').length;
    await a.send(fits);
    const error = await a.send(`${fits}y`).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MeteredPeerOversizedError);
    expect(error).toMatchObject({ size: cap + 1, cap });
    const publishes = room.framesOf('peer-a', 'publish').slice(before);
    expect(publishes.map((frame) => frame.data)).toEqual([fits]);
    await a.close();
    await b.close();
  });

  it('sendTo: the direct frame, with the recipient id, against the cap', async () => {
    const cap = 300;
    const { room, a, b } = await pairWithCap(cap);
    const fits = 'x'.repeat(cap - sendBytes('peer-b', ''));
    await a.sendTo('peer-b', fits);
    await expect(a.sendTo('peer-b', `${fits}é`)).rejects.toMatchObject({ size: cap + 2, cap });
    await flush();
    expect(room.directs('peer-a', 'peer-b').filter((data) => typeof data === 'string')).toEqual([
      fits,
    ]);
    await a.close();
    await b.close();
  });

  it('track metadata: measured as a direct to the longest possible peer id, before it is tracked', async () => {
    const cap = 400;
    const { room, a, b } = await pairWithCap(cap);
    const track = new FakeMediaStreamTrack('video', 'cam-1');
    const longestId = 'p'.repeat(128);
    const frame = (label: string): number =>
      sendBytes(longestId, trackMetaPayload(track.id, { label }));
    const fits = 'x'.repeat(cap - frame(''));
    expect(frame(fits)).toBe(cap);
    const error = (() => {
      try {
        a.addTrack(track, undefined, { label: `${fits}y` });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MeteredPeerOversizedError);
    expect(error).toMatchObject({ size: cap + 1, cap });
    expect(a.getTrackMetadata(track)).toBeNull();
    a.addTrack(track, undefined, { label: fits });
    expect(a.getTrackMetadata(track)).toEqual({ label: fits });
    await flush();
    for (const frameSent of room.framesOf('peer-a', 'send')) {
      expect(sendBytes(String(frameSent.to), frameSent.data)).toBeLessThanOrEqual(cap);
    }
    await a.close();
    await b.close();
  });

  it('a signalling payload over the cap is never sent (a lower cap after a reconnect)', async () => {
    const room = new FakeRoom();
    const pcs = createFakePeerConnectionFactory();
    const warnings: string[] = [];
    const a = createPeer(room, 'peer-a', pcs, { logger: { warn: (line) => warnings.push(line) } });
    const b = createPeer(room, 'peer-b', pcs);
    await a.join('room-1');
    await b.join('room-1');
    await until(() => a.remotePeers.has('peer-b'), 'discovery');
    a.addTrack(new FakeMediaStreamTrack('video', 'cam-1'), undefined, { label: 'x'.repeat(2_000) });
    await flush();
    room.welcomeFields.set('peer-a', { maxMessageSize: 1_000 });
    const before = room.framesOf('peer-a', 'send').length;
    room.drop('peer-a');
    await until(() => a.state === 'reconnecting', 'reconnecting');
    await vi.advanceTimersByTimeAsync(2_000);
    await until(
      () => a.state === 'joined' && room.framesOf('peer-a', 'send').length > before,
      'rejoined',
    );
    await flush();
    const after = room.framesOf('peer-a', 'send').slice(before);
    for (const frameSent of after) {
      expect(sendBytes(String(frameSent.to), frameSent.data)).toBeLessThanOrEqual(1_000);
    }
    expect(warnings.some((line) => line.includes('over the cap'))).toBe(true);
    await a.close();
    await b.close();
  });
});
