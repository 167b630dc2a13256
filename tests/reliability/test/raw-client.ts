import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export interface Frame {
  readonly type: string;
  readonly [key: string]: any;
}

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
}

/** How a connect attempt ended before or after the upgrade. */
export type ConnectOutcome =
  | { readonly kind: 'welcome'; readonly frame: Frame }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'http'; readonly status: number; readonly headers: IncomingMessage['headers'] }
  | { readonly kind: 'error'; readonly message: string };

const open = new Set<RawClient>();

/** Terminates every raw client still open (call after each test). */
export function terminateRawClients(): void {
  for (const client of open) client.terminate();
  open.clear();
}

/** A plain `ws` client that records frames, to see exactly what the server sends. */
export class RawClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  /** Text frames that were not JSON (never expected). */
  readonly garbage: string[] = [];
  readonly closed: Promise<CloseEvent>;
  readonly outcome: Promise<ConnectOutcome>;
  private readonly waiters: {
    test: (frame: Frame) => boolean;
    resolve: (frame: Frame) => void;
    reject: (error: Error) => void;
  }[] = [];
  private closeEvent: CloseEvent | undefined;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, { perMessageDeflate: false, ...options });
    open.add(this);
    let settle: (outcome: ConnectOutcome) => void = () => undefined;
    this.outcome = new Promise((resolve) => {
      settle = resolve;
    });
    this.socket.on('unexpected-response', (_request, response) => {
      settle({ kind: 'http', status: response.statusCode ?? 0, headers: response.headers });
      response.resume();
      this.socket.terminate();
    });
    this.socket.on('error', (error) => settle({ kind: 'error', message: error.message }));
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => {
        open.delete(this);
        this.closeEvent = { code, reason: reason.toString() };
        settle({ kind: 'close', code, reason: reason.toString() });
        resolve(this.closeEvent);
        for (const waiter of this.waiters.splice(0)) {
          waiter.reject(new Error(`closed with ${code} while waiting for a frame`));
        }
      });
    });
    this.socket.on('message', (data: Buffer, isBinary) => {
      const text = data.toString('utf8');
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        this.garbage.push(isBinary ? `binary:${data.byteLength}` : text.slice(0, 200));
        return;
      }
      this.frames.push(frame);
      if (frame.type === 'welcome') settle({ kind: 'welcome', frame });
      for (const waiter of [...this.waiters]) {
        if (waiter.test(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  }

  get isClosed(): boolean {
    return this.closeEvent !== undefined;
  }

  waitFor(test: (frame: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(test);
    if (found) return Promise.resolve(found);
    if (this.closeEvent) {
      return Promise.reject(new Error(`closed with ${this.closeEvent.code}`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ test, resolve, reject }));
  }

  async welcome(): Promise<Frame> {
    const outcome = await this.outcome;
    if (outcome.kind !== 'welcome') throw new Error(`no welcome: ${JSON.stringify(outcome)}`);
    return outcome.frame;
  }

  sendJson(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a frame with a fresh requestId; resolves with its ack or error. */
  request(frame: Record<string, unknown>): Promise<Frame> {
    const requestId = randomUUID();
    this.sendJson({ ...frame, requestId });
    return this.waitFor(
      (reply) => (reply.type === 'ack' || reply.type === 'error') && reply.requestId === requestId,
    );
  }

  /** A round trip: every frame the server sent before the pong has arrived. */
  async sync(): Promise<void> {
    const pongs = (): number => this.frames.filter((frame) => frame.type === 'pong').length;
    const before = pongs();
    this.sendJson({ type: 'ping' });
    await this.waitFor(() => pongs() > before);
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
