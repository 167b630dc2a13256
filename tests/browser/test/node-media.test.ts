import { RestClient, type RunningDemo } from '@metered/demo';
import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
  rtcPeerConnectionFactory,
} from '@metered/node-webrtc-adapter';
import { MeteredPeer, PeerJoined, Track } from '@metered/peer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { joinRoom, launchChromium, screenshot, startTestDemo, waitFor } from './harness.js';

// A Node peer that holds a camera track before it joins, and a page that joins after it: the
// "agent already in the call" case. The page's peer id is `ada-…`; one Node id sorts before it
// and one after, so each side is the polite one once.

describe('media between a page and a Node peer that added its track before the page joined', () => {
  let demo: RunningDemo;
  let browser: Browser;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it.each(['aaa-node', 'zzz-node'])(
    'as %s: the page shows its video with the track metadata and receives RTP; the Node peer receives the page camera',
    async (peerId) => {
      const room = `node-media-${peerId}`;
      const rest = new RestClient(demo.server.url);
      const peer = new MeteredPeer({
        url: demo.server.url,
        tokenProvider: async ({ signal }) =>
          (await rest.mintToken({ peerId, peerMetadata: { name: 'Agent' } }, signal)).token,
        rtcPeerConnectionFactory,
      });
      const received: Track[] = [];
      peer.on(PeerJoined, ({ peer: remote }) => {
        remote.on(Track, (event) => received.push(event));
      });
      await peer.join(`demo/${room}/rtc`);
      const camera = new NodeMediaStreamTrack({ kind: 'video' });
      peer.addTrack(camera, new NodeMediaStream([camera]), { source: 'agent camera' });
      let sequenceNumber = 0;
      const pump = setInterval(() => {
        sequenceNumber += 1;
        camera.writeRtp(
          createRtpPacket({
            payloadType: 96,
            sequenceNumber,
            timestamp: sequenceNumber * 3000,
            ssrc: 7,
            payload: new Uint8Array(60).fill(sequenceNumber & 0xff),
          }),
        );
      }, 20);
      closers.push(async () => {
        clearInterval(pump);
        await peer.close();
      });

      const page: Page = await joinRoom(browser, demo, room, 'Ada', '#7c3aed');
      closers.push(() => page.context().close());

      // The page renders one figure per remote stream, captioned with the stream's metadata.
      const figure = page.locator(`figure[data-peer-id="${peerId}"]`);
      await waitFor(
        'the Node peer video on the page',
        async () => figure.count(),
        (count) => count === 1,
      );
      expect(await figure.locator('figcaption').textContent()).toBe('Agent (agent camera)');
      // A remote track stays muted until its first RTP packet arrives.
      await waitFor(
        'RTP from the Node peer on the page',
        () =>
          figure
            .locator('video')
            .evaluate((video: HTMLVideoElement) =>
              (video.srcObject as MediaStream | null)?.getVideoTracks().map((track) => track.muted),
            ),
        (muted) => muted?.length === 1 && muted[0] === false,
      );

      // The other way: the page starts its fake camera; the Node peer gets the track and RTP.
      await page.locator('#call-start').click();
      await waitFor(
        'the page camera at the Node peer',
        async () =>
          received.map(
            (event) => (event.track as unknown as NodeMediaStreamTrack).packetsReceived ?? 0,
          ),
        (packets) => packets.length === 1 && (packets[0] ?? 0) >= 10,
      );
      expect(received[0]?.track.kind).toBe('video');
      expect(received[0]?.metadata).toMatchObject({ source: expect.any(String) });
      await screenshot(page, `node-media-${peerId}`);
    },
  );
});
