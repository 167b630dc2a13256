import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { RunningDemo } from '@metered/demo';
import { startBot, type RunningBot } from '@metered/demo/bot';
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

describe('a page and the Node bot (browser WebRTC ↔ node-datachannel)', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let bot: RunningBot;
  let page: Page;
  let botOutput = '';
  const received: { name: string; sha256: string; ok: boolean }[] = [];

  beforeAll(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
    const output = new PassThrough();
    output.on('data', (chunk: Buffer) => {
      botOutput += chunk.toString('utf8');
    });
    bot = await startBot({
      room: 'bot-e2e',
      serverUrl: demo.server.url,
      name: 'Bot',
      output,
      onFile: (file) => received.push({ name: file.header.name, sha256: file.sha256, ok: file.ok }),
    });
    page = await joinRoom(browser, demo, 'bot-e2e', 'Ada', '#db2777');
    await expectText(page.getByTestId('presence'), 'Bot');
    await expectText(page.getByTestId('p2p-peers'), 'Bot');
  });

  afterAll(async () => {
    await browser?.close();
    await bot?.close();
    await demo?.close();
  });

  it('the bot answers chat', async () => {
    await page.locator('#chat-input').fill('ping');
    await page.locator('#chat-send').click();
    await expectText(page.getByTestId('messages'), 'pong');
  });

  it('a file goes from the page to the bot over a data channel, checksum verified both ways', async () => {
    const content = randomBytes(200 * 1024 + 7);
    const sha256 = createHash('sha256').update(content).digest('hex');
    await page.locator('#p2p-target').selectOption({ label: 'Bot' });
    await page
      .locator('#p2p-file')
      .setInputFiles({ name: 'report.bin', mimeType: 'application/octet-stream', buffer: content });
    await page.locator('#p2p-send').click();

    // The verdict comes back over the same data channel, from node-datachannel.
    await expectText(
      page.getByTestId('p2p-send-status'),
      `Bot verified SHA-256 ${sha256.slice(0, 16)}`,
    );
    await waitFor(
      'the bot to record the file',
      async () => received.length,
      (count) => count > 0,
    );
    expect(received).toEqual([{ name: 'report.bin', sha256, ok: true }]);
    expect(botOutput).toContain('receiving report.bin');
    expect(botOutput).toContain('100%');
    // And the bot says so in the chat.
    await expectText(page.getByTestId('messages'), 'Got report.bin from Ada');
    await screenshot(page, 'bot-ada');
  });
});
