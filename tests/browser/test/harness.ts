import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDemo, type RunningDemo } from '@metered/demo';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Where screenshots go (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** Generous bound for every wait: the suite runs on a loaded two-core machine. */
export const WAIT_MS = 30_000;

/** Launches Chromium, or fails with what to install: these tests never skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need Debian's Chromium: ` +
        'run `apt-get update && apt-get install -y chromium` (.ci/run does it), ' +
        'or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** The demo on free ports: its server and its page. */
export function startTestDemo(): Promise<RunningDemo> {
  return startDemo({ port: 0, serverPort: 0 });
}

/**
 * Opens the demo page in a fresh context and joins `room` as `name`; `beforeLoad` runs in the
 * page before its own scripts.
 */
export async function joinRoom(
  browser: Browser,
  demo: RunningDemo,
  room: string,
  name: string,
  colour: string,
  beforeLoad?: () => void,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  if (beforeLoad) await context.addInitScript(beforeLoad);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[${name}] page error: ${error.message}`));
  const url = new URL(demo.url);
  url.searchParams.set('room', room);
  url.searchParams.set('name', name);
  url.searchParams.set('colour', colour);
  await page.goto(url.href);
  await expectText(page.getByTestId('state'), 'connected');
  return page;
}

/**
 * Polls `read` until `accept` takes its value; fails after {@link WAIT_MS} with the last value.
 * Works in hooks too (unlike `expect.poll`).
 */
export async function waitFor<T>(
  description: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (accept(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${description}; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits (bounded) until the element's text contains `text`. */
export async function expectText(locator: Locator, text: string): Promise<void> {
  await waitFor(
    `${locator.toString()} to contain "${text}"`,
    async () => (await locator.textContent()) ?? '',
    (value) => value.includes(text),
  );
}

/** Waits (bounded) until the element's text no longer contains `text`. */
export async function expectNoText(locator: Locator, text: string): Promise<void> {
  await waitFor(
    `${locator.toString()} not to contain "${text}"`,
    async () => (await locator.textContent()) ?? '',
    (value) => !value.includes(text),
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}
