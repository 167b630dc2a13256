import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A WebSocket frame as a client writes it (masked unless told otherwise). */
export function encodeFrame(
  opcode: number,
  payload: Buffer,
  {
    fin = true,
    rsv = 0,
    masked = true,
    declaredLength,
  }: { fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: number } = {},
): Buffer {
  const length = declaredLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const mask = masked ? 0x80 : 0;
  if (length < 126) head.push(mask | length);
  else if (length < 65_536) head.push(mask | 126, length >> 8, length & 0xff);
  else {
    head.push(mask | 127, 0, 0, 0, 0);
    head.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let index = 0; index < body.length; index++)
    body[index] = (body[index] as number) ^ (key[index % 4] as number);
  return Buffer.concat([Buffer.from(head), key, body]);
}

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * A WebSocket connection made by hand over TCP, to write frames `ws` would never write (bad
 * opcodes, reserved bits, unmasked, cut in half) and read what the server answers.
 */
export class WireClient {
  readonly frames: ServerFrame[] = [];
  readonly ended: Promise<void>;
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.ended = new Promise((resolve) =>
      socket.once('close', () => {
        this.notify();
        resolve();
      }),
    );
  }

  /** Opens `/v1?<query>` and resolves once the server's welcome (its first frame) arrived. */
  static async open(port: number, query: string): Promise<WireClient> {
    const socket = connect(port, '127.0.0.1');
    const client = new WireClient(socket);
    socket.write(
      `GET /v1?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await client.until(() => client.frames.length > 0 || socket.destroyed);
    return client;
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    for (;;) {
      if (this.buffer.length < 2) break;
      const length7 = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      let length = length7;
      if (length7 === 126) {
        if (this.buffer.length < 4) break;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length7 === 127) {
        if (this.buffer.length < 10) break;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) break;
      this.frames.push({
        opcode: (this.buffer[0] as number) & 0x0f,
        payload: this.buffer.subarray(offset, offset + length),
      });
      this.buffer = this.buffer.subarray(offset + length);
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `condition` holds, re-checked on every frame and at close. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.socket.destroyed) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The code of the server's close frame, once it arrived (or undefined when the socket ended without one). */
  async closeCode(): Promise<number | undefined> {
    await this.until(
      () => this.frames.some((frame) => frame.opcode === 0x8) || this.socket.destroyed,
    );
    const close = this.frames.find((frame) => frame.opcode === 0x8);
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
  }

  texts(): unknown[] {
    return this.frames
      .filter((frame) => frame.opcode === 0x1)
      .map((frame) => JSON.parse(frame.payload.toString('utf8')));
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
