import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parseServerFrame } from '@metered/protocol';
import { SignJWT } from 'jose';
import { afterEach, expect } from 'vitest';
import WebSocket from 'ws';
import {
  startServer,
  type RunningServer,
  type ServerConfigInput,
  type StartServerOptions,
} from '../src/index.js';

export const PUBLISHABLE_KEY = 'pk_live_test';
export const SECRET_KEY_ID = 'sk_id_test';
export const SECRET = 'sk_secret_test';
export const AUTHORIZATION = `Bearer ${SECRET_KEY_ID}:${SECRET}`;

type AppInput = ServerConfigInput['apps'][number];

/** One app with an all-powerful publishable key and secret key; `overrides` replace fields. */
export function testApp(overrides: Partial<AppInput> = {}): AppInput {
  return {
    id: 'app1',
    publishableKeys: [
      {
        key: PUBLISHABLE_KEY,
        channelPatterns: ['**'],
        actions: ['subscribe', 'publish', 'presence', 'send'],
        allowedOrigins: [],
      },
    ],
    secretKeys: [
      {
        id: SECRET_KEY_ID,
        secret: SECRET,
        channelPatterns: ['**'],
        actions: ['subscribe', 'publish', 'presence', 'send'],
      },
    ],
    ...overrides,
  };
}

/** Every protocol extension off: the server speaks plain protocol v1, byte for byte. */
export const PLAIN_V1 = Object.freeze({
  recovery: false,
  idempotency: false,
  resume: false,
  refresh: false,
});

/** A controllable clock: starts at the real time, moves only when told. */
export class TestClock {
  constructor(public time = Date.now()) {}
  readonly now = (): number => this.time;
  advance(milliseconds: number): void {
    this.time += milliseconds;
  }
  get seconds(): number {
    return Math.floor(this.time / 1000);
  }
}

const servers: RunningServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  const finished = clients.splice(0);
  for (const client of finished) client.terminate();
  // Every frame the server sent must pass a client's strict protocol v1 parser.
  expect(finished.flatMap((client) => client.malformed)).toEqual([]);
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Starts a server on 127.0.0.1, port 0, closed after the test. */
export async function startTestServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    apps: [testApp()],
    drainTimeoutMs: 2000,
    ...options,
  });
  servers.push(server);
  return server;
}

export interface Frame {
  readonly type: string;
  readonly [key: string]: any;
}

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
}

interface Waiter {
  readonly predicate: (frame: Frame) => boolean;
  readonly resolve: (frame: Frame) => void;
  readonly reject: (error: Error) => void;
}

/** A raw `ws` client that records every frame and lets a test await frames by shape. */
export class TestClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  /** Frames the strict client parser of `@metered/protocol` rejects (should stay empty). */
  readonly malformed: { text: string; reason: string }[] = [];
  readonly closed: Promise<CloseEvent>;
  readonly opened: Promise<void>;
  private readonly waiters: Waiter[] = [];
  private cursor = 0;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, options);
    clients.push(this);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const waiter of this.waiters.splice(0)) {
          waiter.reject(new Error(`socket closed with ${code} while waiting for a frame`));
        }
      });
    });
    this.socket.on('error', () => undefined);
    this.socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const parsed = parseServerFrame(text);
      if (!parsed.ok) this.malformed.push({ text, reason: JSON.stringify(parsed.error) });
      const frame = JSON.parse(text) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  }

  /** Awaits the first frame (received at any time) that matches. */
  waitFor(predicate: (frame: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => this.waiters.push({ predicate, resolve, reject }));
  }

  /** Awaits the next frame not yet consumed by `next`, in arrival order. */
  async next(): Promise<Frame> {
    const index = this.cursor++;
    if (index < this.frames.length) return this.frames[index] as Frame;
    return this.waitFor(() => this.frames.length > index).then(() => this.frames[index] as Frame);
  }

  welcome(): Promise<Frame> {
    return this.waitFor((frame) => frame.type === 'welcome');
  }

  sendJson(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a frame with a fresh requestId and awaits its ack or error. */
  async request(frame: Record<string, unknown>): Promise<Frame> {
    const requestId = randomUUID();
    this.sendJson({ ...frame, requestId });
    return this.waitFor(
      (reply) => (reply.type === 'ack' || reply.type === 'error') && reply.requestId === requestId,
    );
  }

  /** Round trip through the server: every frame the server sent before the pong has arrived. */
  async sync(): Promise<void> {
    const pongs = this.frames.filter((frame) => frame.type === 'pong').length;
    this.sendJson({ type: 'ping' });
    await this.waitFor(() => this.frames.filter((frame) => frame.type === 'pong').length > pongs);
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  close(): Promise<CloseEvent> {
    this.socket.close();
    return this.closed;
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** Opens a client on `/v1` with the query parameters given. */
export function connect(
  server: RunningServer,
  query: Record<string, string>,
  options: WebSocket.ClientOptions = {},
): TestClient {
  const search = new URLSearchParams(query).toString();
  return new TestClient(`${server.url}/v1?${search}`, options);
}

/** The HTTP answer to an upgrade the server refuses: its status and headers. */
export function refusedUpgrade(
  server: RunningServer,
  query: Record<string, string>,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const search = new URLSearchParams(query).toString();
  const socket = new WebSocket(`${server.url}/v1?${search}`, options);
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (request, response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      request.destroy();
    });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the upgrade was accepted'));
    });
  });
}

/** Opens a client with the test publishable key and awaits its welcome. */
export async function connectWithKey(
  server: RunningServer,
  key = PUBLISHABLE_KEY,
): Promise<TestClient> {
  const client = connect(server, { key });
  await client.welcome();
  return client;
}

export interface TokenOptions {
  readonly sub?: unknown;
  readonly exp?: unknown;
  readonly claims?: Record<string, unknown>;
  readonly kid?: string;
  readonly secret?: string;
  readonly alg?: string;
  readonly now?: number;
}

/** Signs a token like a customer backend would (HS256, kid = secret key id). */
export async function signTestToken(options: TokenOptions = {}): Promise<string> {
  const now = options.now ?? Date.now();
  const payload: Record<string, unknown> = { ...options.claims };
  if (options.sub !== null) payload.sub = options.sub ?? `peer-${randomUUID().slice(0, 8)}`;
  if (options.exp !== null) payload.exp = options.exp ?? Math.floor(now / 1000) + 3600;
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: options.alg ?? 'HS256',
      kid: options.kid ?? SECRET_KEY_ID,
      typ: 'JWT',
    })
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** Opens a client with a token for `peerId` and awaits its welcome. */
export async function connectWithToken(
  server: RunningServer,
  peerId: string,
  claims: Record<string, unknown> = {},
  now?: number,
): Promise<TestClient> {
  const token = await signTestToken({ sub: peerId, claims, ...(now !== undefined && { now }) });
  const client = connect(server, { token });
  await client.welcome();
  return client;
}

/** Calls the REST API of a server. */
export async function rest(
  server: RunningServer,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; authorization?: string | null } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.authorization !== null)
    headers.authorization = options.authorization ?? AUTHORIZATION;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${server.url.replace(/^ws/, 'http')}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
