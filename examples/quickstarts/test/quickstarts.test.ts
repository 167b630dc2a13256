import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataChannel, DCMessage } from '@metered/datachannel';
import { NodeMediaStream, NodeMediaStreamTrack } from '@metered/node-webrtc-adapter';
import { Data, PeerJoined, Track, type MeteredPeer } from '@metered/peer';
import type { RunningServer } from '@metered/server';
import {
  Connected,
  Message,
  Presence,
  ServerRequestError,
  SignallingClient,
} from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import { nodePeer, startDevServer, waitFor } from './harness.js';
import { freePort, run, type RunningProcess } from './processes.js';
import { startRedis, type RedisProcess } from './redis.js';

// Each quickstart of the root README runs unchanged (the Node ones as the files in src/, the
// browser one as built into dist/) in a Node process of its own (test/globals.mjs points its `ws://127.0.0.1:9292` at the test's server),
// while the test plays the other member of the room.

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const globals = join(packageRoot, 'test/globals.mjs');
const serverCli = join(
  dirname(createRequire(import.meta.url).resolve('@metered/server/package.json')),
  'dist/cli.js',
);

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function devServer(): Promise<RunningServer> {
  const server = await startDevServer();
  cleanups.push(() => server.close());
  return server;
}

/** Runs a quickstart program, given by its path in this package. */
function quickstart(path: string, url: string, env: Record<string, string> = {}): RunningProcess {
  const running = run(['--import', globals, join(packageRoot, path)], {
    QUICKSTART_SERVER_URL: url,
    ...env,
  });
  cleanups.push(() => running.stop());
  return running;
}

function client(options: ConstructorParameters<typeof SignallingClient>[0]): SignallingClient {
  const created = new SignallingClient(options);
  cleanups.push(() => created.close());
  return created;
}

function peer(url: string): MeteredPeer {
  const created = nodePeer(url);
  cleanups.push(() => created.close());
  return created;
}

function cli(config: string): RunningProcess {
  const running = run([serverCli, '--config', config, '--host', '127.0.0.1', '--port', '0']);
  cleanups.push(() => running.stop());
  return running;
}

async function listeningUrl(node: RunningProcess): Promise<string> {
  const line = await node.waitForLine(/^listening on ws:\/\//);
  return line.slice('listening on '.length).trim();
}

describe('the README quickstarts', () => {
  it('pub/sub with SignallingClient: presence, a message out and a message in', async () => {
    const server = await devServer();
    const other = client({ url: server.url, apiKey: 'pk_live_dev' });
    const messages: Message[] = [];
    const presence: Presence[] = [];
    other.on(Message, (event) => messages.push(event));
    other.on(Presence, (event) => presence.push(event));
    const welcome = new Promise<Connected>((resolve) => other.once(Connected, resolve));
    await other.connect();
    const { peerId } = await welcome;
    await other.subscribe('lobby');

    const program = quickstart('src/pubsub.mjs', server.url);
    // It says what it did, so a single copy does not look stuck.
    await program.waitForLine(/^connected as \S+$/);
    await program.waitForLine(/^said hello in lobby; waiting for the others \(Ctrl\+C to stop\)$/);
    await program.until(waitFor(() => messages.length === 1, 'the quickstart to publish'));
    expect(messages[0]).toMatchObject({ channel: 'lobby', data: { text: 'hello, lobby' } });
    const programPeerId = messages[0]!.senderPeerId;
    expect(presence.flatMap((event) => event.joined.map((member) => member.peerId))).toContain(
      programPeerId,
    );
    await program.waitForLine(new RegExp(`^${peerId} is in lobby$`));

    await other.publish('lobby', { text: 'hi' });
    await program.waitForLine(new RegExp(`^${peerId} on lobby: \\{"text":"hi"\\}$`));

    await program.stop();
    await waitFor(
      () => presence.some((event) => event.left.some((member) => member.peerId === programPeerId)),
      'the quickstart to leave',
    );
  });

  it('a room in the browser: camera out, the other member on the page, a message', async () => {
    const server = await devServer();
    const other = peer(server.url);
    const tracks: Track[] = [];
    const data: Data[] = [];
    other.on(PeerJoined, ({ peer: remote }) => remote.on(Track, (event) => tracks.push(event)));
    other.on(Data, (event) => data.push(event));
    await other.join('room-42');

    const page = quickstart('dist/room-browser.js', server.url, { QUICKSTART_BROWSER: '1' });
    await page.until(waitFor(() => data.length === 1, 'the page to say hello'));
    expect(data[0]).toMatchObject({ data: { text: 'hello, room' }, kind: 'broadcast' });
    await page.until(waitFor(() => tracks.length === 2, "the page's camera and microphone"));
    expect(tracks.map((event) => event.track.kind).sort()).toEqual(['audio', 'video']);
    expect(tracks.every((event) => event.metadata?.role === 'camera')).toBe(true);

    // The other member shares a screen: the page shows it.
    const screen = new NodeMediaStreamTrack({ kind: 'video' });
    other.addStream(new NodeMediaStream([screen]), { role: 'screen' });
    await page.waitForLine(
      new RegExp(`^\\[page\\] <video title="${other.peerId} \\(screen\\)"> stream \\S+$`),
    );
  });

  it('a room on Node: a data channel to it is answered', async () => {
    const server = await devServer();
    const other = peer(server.url);
    await other.join('room-42');

    const program = quickstart('src/room-node.mjs', server.url);
    const line = await program.waitForLine(/^joined room-42 as /);
    const programPeerId = line.slice('joined room-42 as '.length);
    await program.until(
      waitFor(() => other.remotePeers.has(programPeerId), 'the program in the room'),
    );

    const channel = new DataChannel(
      other.remotePeers.get(programPeerId)!.createDataChannel('chat'),
    );
    cleanups.push(() => channel.close());
    const replies: unknown[] = [];
    channel.on(DCMessage, ({ data }) => replies.push(data));
    await channel.send('hello');
    await program.waitForLine(new RegExp(`^${other.peerId}: hello$`));
    await program.until(waitFor(() => replies.length === 1, 'the echo'));
    expect(replies).toEqual(['echo: hello']);
  });

  it('self-hosting with server.json: its key, its channel patterns, its secret key', async () => {
    const node = cli(join(packageRoot, 'server.json'));
    const url = await listeningUrl(node);

    const member = client({ url, apiKey: 'pk_live_my_app' });
    await member.connect();
    await member.subscribe('rooms/1');
    const refused = await member.subscribe('admin').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ServerRequestError);
    expect((refused as ServerRequestError).code).toBe('channel_not_authorized');

    const response = await fetch(`${url.replace(/^ws/, 'http')}/v1/tokens`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sk_my_app:replace-with-a-long-random-secret',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ peerId: 'ada', channels: ['rooms/1'] }),
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const ada = client({ url, tokenProvider: () => token });
    const welcome = new Promise<Connected>((resolve) => ada.once(Connected, resolve));
    await ada.connect();
    expect((await welcome).peerId).toBe('ada');

    await member.close();
    await ada.close();
    expect(await node.stop()).toBe(0);
  });

  it('two nodes on Redis with cluster.json: presence and messages cross nodes', async () => {
    const redis: RedisProcess = await startRedis(await freePort());
    cleanups.push(() => redis.stop());
    const directory = mkdtempSync(join(tmpdir(), 'metered-cluster-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const config = join(directory, 'cluster.json');
    const text = readFileSync(join(packageRoot, 'cluster.json'), 'utf8');
    expect(text).toContain('redis://127.0.0.1:6379');
    writeFileSync(config, text.replace('redis://127.0.0.1:6379', redis.url));

    const [first, second] = await Promise.all(
      [cli(config), cli(config)].map((node) => listeningUrl(node)),
    );
    const alice = client({ url: first!, apiKey: 'pk_live_my_app' });
    const bob = client({ url: second!, apiKey: 'pk_live_my_app' });
    const atAlice: Message[] = [];
    const joinedAtAlice: string[] = [];
    alice.on(Message, (event) => atAlice.push(event));
    alice.on(Presence, (event) => joinedAtAlice.push(...event.joined.map((m) => m.peerId)));
    const bobWelcome = new Promise<Connected>((resolve) => bob.once(Connected, resolve));
    await alice.connect();
    await alice.subscribe('lobby');
    await bob.connect();
    const { peerId: bobId } = await bobWelcome;
    await bob.subscribe('lobby');
    await waitFor(() => joinedAtAlice.includes(bobId), 'bob in the roster on the other node');
    await bob.publish('lobby', { text: 'across nodes' });
    await waitFor(() => atAlice.length === 1, 'the message across nodes');
    expect(atAlice[0]).toMatchObject({ senderPeerId: bobId, data: { text: 'across nodes' } });
  });
});
