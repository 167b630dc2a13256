import { PassThrough } from 'node:stream';
import { startDemo, type RunningDemo } from '@metered/demo';
import { startBot, type RunningBot } from '@metered/demo/bot';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectText, joinRoom, launchChromium, screenshot, waitFor } from './harness.js';

// The video call across every reconnect the page offers: each page must show the other's video
// live again (one visible tile, a live track, new frames decoded), not the ended track of the
// connection that went away.

interface RemoteVideo {
  /** Visible tiles captioned with the sender's name. */
  readonly tiles: number;
  /** The tile's track is live. */
  readonly live: boolean;
  /** Frames the tile's video decoded so far. */
  readonly frames: number;
}

function remoteVideoOf(page: Page, name: string): Promise<RemoteVideo> {
  return page.evaluate((sender) => {
    const tiles = Array.from(document.querySelectorAll('#videos figure:not([hidden])')).filter(
      (figure) => figure.querySelector('figcaption')?.textContent?.startsWith(`${sender} (`),
    );
    const video = tiles[0]?.querySelector('video');
    const track = (video?.srcObject as MediaStream | null | undefined)?.getVideoTracks()[0];
    return {
      tiles: tiles.length,
      live: track?.readyState === 'live',
      frames: video?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
    };
  }, name);
}

/** Waits until `page` shows one live video from `name` whose frame count keeps growing. */
async function expectLiveVideo(page: Page, name: string): Promise<void> {
  const first = await waitFor(
    `one live video from ${name}`,
    () => remoteVideoOf(page, name),
    (video) => video.tiles === 1 && video.live && video.frames > 0,
  );
  await waitFor(
    `new frames from ${name}`,
    () => remoteVideoOf(page, name),
    (video) => video.tiles === 1 && video.live && video.frames >= first.frames + 10,
  );
}

async function expectBothLive(ada: Page, grace: Page): Promise<void> {
  await expectLiveVideo(ada, 'Grace');
  await expectLiveVideo(grace, 'Ada');
}

describe('the demo video call across reconnects', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let ada: Page;
  let grace: Page;

  beforeAll(async () => {
    // A server that drains fast, for the restart.
    demo = await startDemo({
      port: 0,
      serverPort: 0,
      server: { drainTimeoutMs: 1_000, shutdownRetryAfterMs: 100 },
    });
    browser = await launchChromium();
    ada = await joinRoom(browser, demo, 'video-e2e', 'Ada', '#db2777');
    grace = await joinRoom(browser, demo, 'video-e2e', 'Grace', '#0d9488');
    await expectText(ada.getByTestId('p2p-peers'), 'Grace');
    await expectText(grace.getByTestId('p2p-peers'), 'Ada');
    await ada.locator('#call-start').click();
    await expectLiveVideo(grace, 'Ada');
    await grace.locator('#call-start').click();
    await expectBothLive(ada, grace);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('after an oversized payload (1009, then a reconnect)', async () => {
    await ada.locator('#btn-oversized').click();
    await expectText(ada.getByTestId('result-oversized'), 'reconnected');
    await expectText(ada.getByTestId('close-code'), '1009');
    await expectBothLive(ada, grace);
    await screenshot(ada, 'video-after-1009-ada');
  });

  it('after a kick (4020) and a rejoin: the rejoined page sends its video again', async () => {
    await grace.locator('#btn-kick').click();
    await expectText(grace.getByTestId('close-code'), '4020');
    await waitFor(
      "Grace's video gone from Ada's page",
      () => remoteVideoOf(ada, 'Grace'),
      (video) => video.tiles === 0,
    );
    await grace.locator('#rejoin').click();
    await expectText(grace.getByTestId('state'), 'connected');
    await expectBothLive(ada, grace);
    await screenshot(grace, 'video-after-rejoin-grace');
  });

  it('after the server restarts', async () => {
    await demo.restartServer();
    for (const page of [ada, grace]) await expectText(page.getByTestId('state'), 'connected');
    await expectBothLive(ada, grace);
    await screenshot(ada, 'video-after-restart-ada');
  });
});

describe('a peer that sends no media', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let bot: RunningBot;

  beforeAll(async () => {
    demo = await startDemo({ port: 0, serverPort: 0 });
    browser = await launchChromium();
    bot = await startBot({
      room: 'quiet-bot',
      serverUrl: demo.server.url,
      name: 'Bot',
      output: new PassThrough(),
    });
  });

  afterAll(async () => {
    await browser?.close();
    await bot?.close();
    await demo?.close();
  });

  it('gets no video tile, while the page sends it its camera', async () => {
    const page = await joinRoom(browser, demo, 'quiet-bot', 'Ada', '#db2777', () => {
      // Keeps the page's peer connections, to see when the call is negotiated.
      const Native = window.RTCPeerConnection;
      const connections: RTCPeerConnection[] = [];
      Object.assign(window, { peerConnections: connections });
      window.RTCPeerConnection = class extends Native {
        constructor(...args: ConstructorParameters<typeof Native>) {
          super(...args);
          connections.push(this);
        }
      };
    });
    await expectText(page.getByTestId('p2p-peers'), 'Bot');
    await page.locator('#call-start').click();
    // The offer with the camera is answered: the receiver for the bot's side exists (its track
    // event has fired) and the bot is connected.
    await waitFor(
      'the call with the bot negotiated and connected',
      () =>
        page.evaluate(() =>
          (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections.some(
            (connection) =>
              connection.connectionState === 'connected' &&
              connection.signalingState === 'stable' &&
              connection
                .getTransceivers()
                .some(
                  (transceiver) =>
                    transceiver.receiver.track.kind === 'video' &&
                    transceiver.currentDirection !== null,
                ),
          ),
        ),
      (negotiated) => negotiated,
    );
    expect(await remoteVideoOf(page, 'Bot')).toMatchObject({ tiles: 0 });
    // Only the page's own video shows.
    expect(await page.locator('#videos figure:not([hidden])').count()).toBe(1);
    await screenshot(page, 'video-quiet-bot');
  });
});
