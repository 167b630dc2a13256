import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, DEV_CREDENTIALS, startServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import { safeName, startBot } from '../src/bot.js';
import { sendToBot } from '../src/sender.js';
import { sha256Hex, type ReceivedFile } from '../src/transfer.js';

const secretKey = { id: DEV_CREDENTIALS.secretKeyId, secret: DEV_CREDENTIALS.secretKey };
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(): Promise<{
  url: string;
  directory: string;
  saved: { file: ReceivedFile; from: string; path: string }[];
}> {
  const server = await startServer({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 1_000,
  });
  cleanups.push(() => server.close());
  const directory = mkdtempSync(join(tmpdir(), 'file-bot-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  const saved: { file: ReceivedFile; from: string; path: string }[] = [];
  const bot = await startBot({
    url: server.url,
    secretKey,
    room: 'files',
    directory,
    onFile: (file, from, path) => saved.push({ file, from, path }),
  });
  cleanups.push(() => bot.close());
  return { url: server.url, directory, saved };
}

describe('the file-transfer bot', () => {
  it('receives a file over a data channel, checks it, saves it and sends a receipt', async () => {
    const { url, directory, saved } = await setUp();
    const bytes = new Uint8Array(randomBytes(2 * 1024 * 1024 + 123));
    let progress = 0;

    const receipt = await sendToBot({
      url,
      secretKey,
      room: 'files',
      name: 'holiday photo.jpg',
      bytes,
      onProgress: (sent) => (progress = sent),
    });

    expect(receipt).toEqual({ type: 'receipt', ok: true, sha256: sha256Hex(bytes) });
    expect(progress).toBe(bytes.byteLength);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.file.header.name).toBe('holiday photo.jpg');
    expect(saved[0]!.path.startsWith(directory)).toBe(true);
    expect(sha256Hex(readFileSync(saved[0]!.path))).toBe(sha256Hex(bytes));
  });

  it('runs as a program: `main.js send FILE` delivers to the bot', async () => {
    const { url, saved } = await setUp();
    const directory = mkdtempSync(join(tmpdir(), 'file-send-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const path = join(directory, 'notes.txt');
    const content = 'a file sent from the command line\n'.repeat(2_000);
    writeFileSync(path, content);

    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, 'send', path, '--url', url], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = once(child, 'exit');
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const [code] = await exited;

    expect(code).toBe(0);
    expect(output).toContain(`delivered, sha256 ${sha256Hex(Buffer.from(content))}`);
    expect(saved.map(({ file }) => file.header.name)).toEqual(['notes.txt']);
    expect(readFileSync(saved[0]!.path, 'utf8')).toBe(content);
  });

  it('saves under a safe name', () => {
    expect(safeName('../../etc/passwd')).toBe('passwd');
    expect(safeName('.hidden')).toBe('hidden');
    expect(safeName('a/b\\c:d?.txt')).toBe('b_c_d_.txt');
    expect(safeName('')).toBe('file');
  });
});
