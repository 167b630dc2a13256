import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliToRun } from './cli-build.js';
import type { RunningServer, StartServerOptions } from '../src/index.js';
import {
  PUBLISHABLE_KEY,
  connect,
  connectWithToken,
  rest,
  signTestToken,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';
import { eventually, startRedis, type RedisProcess } from './redis-server.js';

// Several server nodes on one Redis: what a client does on one node is seen on the others.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** In-process nodes share a loaded test worker: a lease that a slow timer cannot miss. */
const IN_PROCESS_LEASE_MS = 10_000;
/** A short lease so that a killed node's members leave quickly. */
const PROCESS_LEASE_MS = 2_000;

function redisBroker(keyPrefix: string, leaseMs = IN_PROCESS_LEASE_MS) {
  return { kind: 'redis' as const, url: redis.url, keyPrefix, leaseMs };
}

async function startNodes(
  count: number,
  options: StartServerOptions = {},
): Promise<RunningServer[]> {
  const keyPrefix = `cluster-${randomUUID()}`;
  const nodes: RunningServer[] = [];
  for (let index = 0; index < count; index++) {
    nodes.push(await startTestServer({ broker: redisBroker(keyPrefix), ...options }));
  }
  return nodes;
}

async function health(server: { url: string }): Promise<number> {
  try {
    const response = await fetch(`${server.url.replace(/^ws/, 'http')}/healthz`);
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}

function joinedPeers(client: TestClient, channel: string): string[] {
  return client.frames
    .filter((frame) => frame.type === 'presence' && frame.channel === channel)
    .flatMap((frame) => [
      ...frame.left.map((member: { peerId: string }) => `-${member.peerId}`),
      ...frame.joined.map((member: { peerId: string }) => `+${member.peerId}`),
    ]);
}

describe('a cluster of in-process nodes on one Redis', () => {
  it('shares messages, presence, directs, REST peers, usage and kicks across nodes', async () => {
    const [a, b, c] = (await startNodes(3)) as [RunningServer, RunningServer, RunningServer];
    const alice = await connectWithToken(a, 'alice');
    const bob = await connectWithToken(b, 'bob');
    const carol = await connectWithToken(c, 'carol');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    await carol.request({ type: 'subscribe', channel: 'room' });
    const carolSnapshot = carol.ofType('presence')[0];
    expect(carolSnapshot?.joined.map((member: { peerId: string }) => member.peerId).sort()).toEqual(
      ['alice', 'bob'],
    );
    await eventually(() => joinedPeers(alice, 'room').length === 2, 'bob and carol at alice');
    expect(joinedPeers(alice, 'room')).toEqual(['+bob', '+carol']);

    expect(await bob.request({ type: 'publish', channel: 'room', data: 'from b' })).toMatchObject({
      type: 'ack',
    });
    expect((await alice.waitFor((frame) => frame.type === 'message')).data).toBe('from b');
    expect((await carol.waitFor((frame) => frame.type === 'message')).data).toBe('from b');

    for (let index = 0; index < 20; index++) {
      alice.sendJson({ type: 'send', to: 'bob', data: index, requestId: `d${index}` });
    }
    await alice.waitFor((frame) => frame.requestId === 'd19');
    expect(alice.ofType('error')).toEqual([]);
    await eventually(() => bob.ofType('direct').length === 20, 'twenty directs at bob');
    expect(bob.ofType('direct').map((frame) => frame.data)).toEqual([...Array(20).keys()]);
    // No echo: bob never got his own message.
    expect(bob.ofType('message')).toEqual([]);

    const peers = await rest(c, 'GET', '/v1/channels/room/peers');
    expect(peers.body.peers.map((peer: { peerId: string }) => peer.peerId).sort()).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    const usage = await rest(a, 'GET', '/v1/usage');
    expect(usage.body).toMatchObject({ concurrentNow: 3, messagesUsed: 21 });

    expect((await rest(c, 'DELETE', '/v1/peers/bob')).body).toEqual({ peerId: 'bob', closed: 1 });
    expect((await bob.closed).code).toBe(4020);
    await eventually(() => joinedPeers(alice, 'room').includes('-bob'), 'bob left at alice');
    expect(await alice.request({ type: 'send', to: 'bob', data: 1 })).toMatchObject({
      code: 'peer_not_found',
    });
    await eventually(
      async () => (await rest(b, 'GET', '/v1/usage')).body.concurrentNow === 2,
      'two connections left',
    );
  });

  it("refuses a kicked peer's token on every node", async () => {
    const [a, b] = (await startNodes(2)) as [RunningServer, RunningServer];
    const token = await signTestToken({ sub: 'bob' });
    const bob = connect(a, { token });
    await bob.welcome();
    expect((await rest(b, 'DELETE', '/v1/peers/bob')).body).toEqual({ peerId: 'bob', closed: 1 });
    expect((await bob.closed).code).toBe(4020);
    for (const node of [a, b]) {
      const again = connect(node, { token });
      expect((await again.closed).code).toBe(4020);
      expect(again.ofType('welcome')).toEqual([]);
    }
  });

  it('counts the concurrent cap and the message quota over the whole cluster', async () => {
    const app = testApp({ plan: { maxConcurrentConnections: 2, maxMessagesPerPeriod: 2 } });
    const [a, b] = (await startNodes(2, { apps: [app] })) as [RunningServer, RunningServer];
    const alice = await connectWithToken(a, 'alice');
    const bob = await connectWithToken(b, 'bob');
    const third = connect(a, { key: PUBLISHABLE_KEY });
    expect((await third.closed).code).toBe(4010);
    expect(await alice.request({ type: 'publish', channel: 'x', data: 1 })).toMatchObject({
      type: 'ack',
    });
    expect(await bob.request({ type: 'publish', channel: 'x', data: 2 })).toMatchObject({
      type: 'ack',
    });
    expect(await alice.request({ type: 'publish', channel: 'x', data: 3 })).toMatchObject({
      code: 'over_message_quota',
    });
    await bob.close();
    await eventually(
      async () => (await rest(a, 'GET', '/v1/usage')).body.concurrentNow === 1,
      'bob’s slot released',
    );
    const token = await signTestToken({ sub: 'carol' });
    const carol = connect(a, { token });
    await carol.welcome();
  });

  it('closes the sockets of a suspended app on every node', async () => {
    const [a, b] = (await startNodes(2)) as [RunningServer, RunningServer];
    const bob = await connectWithToken(b, 'bob');
    a.reload({ ...a.config, apps: [testApp({ suspended: true })] });
    expect((await bob.closed).code).toBe(4012);
  });

  it('refuses with 1013 while Redis is down and recovers when it is back', async () => {
    const [a, b] = (await startNodes(2)) as [RunningServer, RunningServer];
    const alice = await connectWithToken(a, 'alice');
    const bob = await connectWithToken(b, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });

    await redis.stop();
    expect((await alice.closed).code).toBe(1013);
    expect((await bob.closed).code).toBe(1013);
    await eventually(async () => (await health(a)) === 503 && (await health(b)) === 503, '503');
    const refused = connect(a, { key: PUBLISHABLE_KEY });
    expect((await refused.closed).code).toBe(1013);

    await redis.restart();
    await eventually(
      async () => (await health(a)) === 200 && (await health(b)) === 200,
      'both nodes ready again',
      20_000,
    );
    const alice2 = await connectWithToken(a, 'alice');
    const bob2 = await connectWithToken(b, 'bob');
    await alice2.request({ type: 'subscribe', channel: 'room' });
    await bob2.request({ type: 'subscribe', channel: 'room' });
    expect(bob2.ofType('presence')[0]?.joined).toEqual([{ peerId: 'alice' }]);
    await bob2.request({ type: 'publish', channel: 'room', data: 'back' });
    expect((await alice2.waitFor((frame) => frame.type === 'message')).data).toBe('back');
  });
});

// ---- real processes through the CLI ----

describe('a cluster of CLI processes on one Redis', () => {
  const children: ChildProcess[] = [];
  let workDirectory: string;
  let cliPath: string;
  // A build on a loaded machine can take a while (CI builds before testing: then it is skipped).
  beforeAll(() => {
    cliPath = cliToRun('metered-server-cluster-test');
    workDirectory = mkdtempSync(join(tmpdir(), 'metered-cluster-'));
  }, 300_000);
  afterAll(() => rmSync(workDirectory, { recursive: true, force: true }));
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  async function startProcess(configPath: string): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [cliPath, '--config', configPath, '--port', '0'], {
      env: { ...process.env, METERED_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 20_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the node exited with ${code}:\n${stderr}`));
      });
    });
    const match = /^listening on (ws:\/\/\S+)$/.exec(first);
    if (!match) throw new Error(`unexpected first line: ${first}`);
    return { child, url: match[1] as string };
  }

  it('removes the members of a node killed with SIGKILL once its lease expires', async () => {
    const configPath = join(workDirectory, 'cluster.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        host: '127.0.0.1',
        broker: redisBroker(`process-${randomUUID()}`, PROCESS_LEASE_MS),
        apps: [testApp()],
      }),
    );
    const one = await startProcess(configPath);
    const two = await startProcess(configPath);
    await eventually(
      async () => (await health(one)) === 200 && (await health(two)) === 200,
      'ready',
    );
    const nodeOne = { url: one.url } as RunningServer;
    const nodeTwo = { url: two.url } as RunningServer;
    const alice = await connectWithToken(nodeOne, 'alice');
    const bob = await connectWithToken(nodeTwo, 'bob');
    await alice.request({ type: 'subscribe', channel: 'room' });
    await bob.request({ type: 'subscribe', channel: 'room' });
    await eventually(() => joinedPeers(alice, 'room').includes('+bob'), 'bob joined at alice');
    await bob.request({ type: 'send', to: 'alice', data: 'hello' });
    expect((await alice.waitFor((frame) => frame.type === 'direct')).data).toBe('hello');

    two.child.kill('SIGKILL');
    await bob.closed;
    // No close reached Redis: only the expired lease tells node one that bob is gone.
    await eventually(
      () => joinedPeers(alice, 'room').includes('-bob'),
      'bob left at alice after the lease',
      20_000,
    );
    const peers = await rest(nodeOne, 'GET', '/v1/channels/room/peers');
    expect(peers.body.peers).toEqual([{ peerId: 'alice' }]);
    expect((await rest(nodeOne, 'GET', '/v1/usage')).body.concurrentNow).toBe(1);
  });
});
