import { createHash, randomBytes } from 'node:crypto';
import type { RunningDemo } from '@metered/demo';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectText,
  joinRoom,
  launchChromium,
  screenshot,
  startTestDemo,
  waitFor,
} from './harness.js';

describe('the demo page: peer to peer', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let ada: Page;
  let grace: Page;

  beforeAll(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
    ada = await joinRoom(browser, demo, 'p2p-e2e', 'Ada', '#db2777');
    grace = await joinRoom(browser, demo, 'p2p-e2e', 'Grace', '#0d9488');
    await expectText(ada.getByTestId('p2p-peers'), 'Grace');
    await expectText(grace.getByTestId('p2p-peers'), 'Ada');
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('sends a file over a data channel with a progress bar and a matching SHA-256', async () => {
    const content = randomBytes(300 * 1024 + 123);
    const sha256 = createHash('sha256').update(content).digest('hex');
    await ada
      .locator('#p2p-file')
      .setInputFiles({ name: 'notes.bin', mimeType: 'application/octet-stream', buffer: content });
    await ada.locator('#p2p-send').click();

    await expectText(grace.getByTestId('p2p-receive-status'), 'SHA-256 matches');
    await expectText(grace.getByTestId('p2p-receive-status'), sha256.slice(0, 16));
    await expectText(grace.getByTestId('p2p-receive-status'), 'notes.bin');
    await expectText(ada.getByTestId('p2p-send-status'), `verified SHA-256 ${sha256.slice(0, 16)}`);
    expect(
      await grace
        .locator('#p2p-receive-progress')
        .evaluate((bar: HTMLProgressElement) => bar.value),
    ).toBe(content.length);
    expect(
      await ada.locator('#p2p-send-progress').evaluate((bar: HTMLProgressElement) => bar.value),
    ).toBe(content.length);
  });

  it('makes a video call: frames from the fake camera reach the other page', async () => {
    // Grace starts her camera once Ada's video arrived, so that it goes out on the transceiver
    // Ada's offer created (the browser then announces it under that transceiver's id).
    await ada.locator('#call-start').click();
    await expectText(grace.locator('figure:has(video.remote-video) figcaption'), 'Ada (camera)');
    await grace.locator('#call-start').click();
    for (const page of [ada, grace]) {
      await waitFor(
        'a remote video with decoded frames',
        () =>
          page.evaluate(() => {
            const video = document.querySelector<HTMLVideoElement>('video.remote-video');
            return video ? video.readyState >= 2 && video.videoWidth > 0 : false;
          }),
        (ready) => ready,
      );
    }
    // Both cameras arrive with their metadata.
    for (const [page, other] of [
      [ada, 'Grace'],
      [grace, 'Ada'],
    ] as const) {
      await expectText(
        page.locator('figure:has(video.remote-video) figcaption'),
        `${other} (camera)`,
      );
    }
  });

  it('chat and the error contract work beside the WebRTC channel on the same connection', async () => {
    await ada.locator('#chat-input').fill('Sent you the notes, did they arrive?');
    await ada.locator('#chat-send').click();
    await expectText(grace.getByTestId('messages'), 'did they arrive?');
    await grace.locator('#chat-input').fill('Yes, and the SHA-256 matches!');
    await grace.locator('#chat-send').click();
    await expectText(ada.getByTestId('messages'), 'the SHA-256 matches!');
    await grace.locator('#btn-reserved').click();
    await expectText(grace.getByTestId('result-reserved'), 'channel_reserved');
    await screenshot(ada, 'p2p-ada');
    await screenshot(grace, 'p2p-grace');
  });
});
