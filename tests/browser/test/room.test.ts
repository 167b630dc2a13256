import type { RunningDemo } from '@metered/demo';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  expectNoText,
  expectText,
  joinRoom,
  launchChromium,
  screenshot,
  startTestDemo,
} from './harness.js';

describe('the demo page: presence, chat and the error contract', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let ada: Page;
  let grace: Page;

  beforeAll(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('two pages join a room and see each other in presence', async () => {
    ada = await joinRoom(browser, demo, 'room-e2e', 'Ada', '#db2777');
    grace = await joinRoom(browser, demo, 'room-e2e', 'Grace', '#0d9488');
    await expectText(ada.getByTestId('presence'), 'Grace');
    await expectText(grace.getByTestId('presence'), 'Ada');
    await expectText(ada.locator('#presence-count'), '2');
  });

  it('chat goes both ways with the sender name from the token metadata', async () => {
    await ada.locator('#chat-input').fill('Hello from Ada');
    await ada.locator('#chat-send').click();
    await expectText(grace.getByTestId('messages'), 'Hello from Ada');
    await expectText(grace.locator('#messages li:not(.system) .author').last(), 'Ada');

    await grace.locator('#chat-input').fill('Hi Ada, Grace here');
    await grace.locator('#chat-send').click();
    await expectText(ada.getByTestId('messages'), 'Hi Ada, Grace here');
  });

  it('publishing to a reserved channel shows ServerRequestError channel_reserved', async () => {
    await ada.locator('#btn-reserved').click();
    await expectText(ada.getByTestId('result-reserved'), 'ServerRequestError channel_reserved');
    await expectText(ada.getByTestId('state'), 'connected');
  });

  it('an oversized payload closes the socket with 1009, then the client reconnects', async () => {
    await ada.locator('#btn-oversized').click();
    await expectText(ada.getByTestId('result-oversized'), '1009 MESSAGE_TOO_BIG');
    await expectText(ada.getByTestId('result-oversized'), 'reconnected');
    await expectText(ada.getByTestId('close-code'), '1009');
    await expectText(ada.getByTestId('state'), 'connected');
    // Back in the room: chat still flows after the reconnect's re-subscribe.
    await expectText(ada.getByTestId('presence'), 'Grace');
    await grace.locator('#chat-input').fill('Still here?');
    await grace.locator('#chat-send').click();
    await expectText(ada.getByTestId('messages'), 'Still here?');
    await screenshot(ada, 'room-ada');
    await screenshot(grace, 'room-grace');
  });

  it('kicking yourself through the REST API is a terminal 4020 with its meaning', async () => {
    await grace.locator('#btn-kick').click();
    await expectText(grace.getByTestId('result-kick'), '4020 ADMIN_DISCONNECT');
    await expectText(grace.getByTestId('state'), 'closed');
    await expectText(grace.getByTestId('close-code'), '4020');
    await expectText(grace.locator('#close-meaning'), 'Disconnected via the REST API.');
    await expectText(grace.locator('#close-sdk'), 'Terminal — no retry.');
    await expectNoText(ada.getByTestId('presence'), 'Grace');
    await screenshot(grace, 'kicked-grace');

    // Rejoin opens a fresh client.
    await grace.locator('#rejoin').click();
    await expectText(grace.getByTestId('state'), 'connected');
    await expectText(ada.getByTestId('presence'), 'Grace');
  });
});
