import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, DEV_CREDENTIALS, startServer, type RunningServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import { joinChat, type Chat } from '../src/chat.js';

const secretKey = { id: DEV_CREDENTIALS.secretKeyId, secret: DEV_CREDENTIALS.secretKey };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<RunningServer> {
  const running = await startServer({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0 });
  cleanups.push(() => running.close());
  return running;
}

async function chatter(url: string, name: string, lines: string[]): Promise<Chat> {
  const chat = await joinChat({
    url,
    secretKey,
    room: 'lobby',
    name,
    print: (line) => lines.push(line),
  });
  cleanups.push(() => chat.close());
  return chat;
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out: ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

describe('the chat', () => {
  it('shows who is here, their messages by name, and who left', async () => {
    const { url } = await server();
    const atAda: string[] = [];
    const atGrace: string[] = [];
    const ada = await chatter(url, 'Ada', atAda);
    const grace = await chatter(url, 'Grace', atGrace);

    await waitFor(() => atAda.includes('* Grace is here'), 'Ada to see Grace');
    await waitFor(() => atGrace.includes('* Ada is here'), 'Grace to see Ada');
    expect([...ada.members.values()]).toEqual(['Grace']);

    await grace.say('hello, Ada');
    await ada.say('hi, Grace');
    await waitFor(() => atAda.includes('<Grace> hello, Ada'), "Grace's message");
    await waitFor(() => atGrace.includes('<Ada> hi, Grace'), "Ada's message");
    // Nobody hears their own messages back.
    expect(atAda.some((line) => line.startsWith('<Ada>'))).toBe(false);

    await grace.close();
    await waitFor(() => atAda.includes('* Grace left'), 'Grace to leave');
    expect(ada.members.size).toBe(0);
  });

  it('runs as a terminal program: join, say a line, /quit', async () => {
    const { url } = await server();
    const atAda: string[] = [];
    await chatter(url, 'Ada', atAda);

    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, '--name', 'Linus', '--url', url], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

    await waitFor(() => output.includes('* you are Linus in lobby'), 'the program to join');
    await waitFor(() => output.includes('* Ada is here'), 'the program to see Ada');
    await waitFor(() => atAda.includes('* Linus is here'), 'Ada to see Linus');
    child.stdin.write('hi from the terminal\n/who\n');
    await waitFor(() => atAda.includes('<Linus> hi from the terminal'), 'the line');
    await waitFor(() => output.includes('* here: Ada'), '/who');
    child.stdin.end('/quit\n');
    const [code] = await exited;
    expect(code).toBe(0);
    await waitFor(() => atAda.includes('* Linus left'), 'Linus to leave');
  });
});
