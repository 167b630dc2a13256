import { createHash, randomBytes } from 'node:crypto';
import {
  DataChannel,
  type DataChannelSendData,
  type RTCDataChannelLike,
} from '@metered/datachannel';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, receiveFile, sendFile, sha256Hex } from './file-transfer.js';

type Listener = (event: { readonly type?: string; readonly data?: unknown }) => void;

/** One end of an in-memory, open, never-buffering channel pair; delivery is asynchronous. */
class LoopbackChannel implements RTCDataChannelLike {
  readyState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'arraybuffer';
  other: LoopbackChannel | undefined;
  /** Bytes of every payload written, in order. */
  readonly sent: number[] = [];
  /** When set, each binary payload is altered on the way (to test the checksum). */
  corrupt = false;
  readonly #listeners = new Map<string, Set<Listener>>();

  send(data: DataChannelSendData): void {
    let payload: string | ArrayBuffer;
    if (typeof data === 'string') {
      payload = data;
    } else {
      const view =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const copy = view.slice();
      if (this.corrupt && copy.length > 0) copy[0] = (copy[0] ?? 0) ^ 0xff;
      payload = copy.buffer;
    }
    this.sent.push(typeof payload === 'string' ? payload.length : payload.byteLength);
    const target = this.other;
    setImmediate(() => target?.emit('message', { data: payload }));
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.emit('close', {});
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  emit(type: string, event: { readonly data?: unknown }): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ type, ...event });
  }
}

function pair(): [LoopbackChannel, LoopbackChannel] {
  const a = new LoopbackChannel();
  const b = new LoopbackChannel();
  a.other = b;
  b.other = a;
  return [a, b];
}

describe('file transfer over a data channel', () => {
  it('sha256Hex matches node:crypto', async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('sends a file in chunks with progress and both sides agree on the SHA-256', async () => {
    const [a, b] = pair();
    const bytes = new Uint8Array(randomBytes(3 * CHUNK_BYTES + 5));
    const expected = createHash('sha256').update(bytes).digest('hex');
    const sendProgress: number[] = [];
    const receiveProgress: number[] = [];
    const received = receiveFile(new DataChannel(b), {
      onProgress: (done) => receiveProgress.push(done),
    });
    const verdict = await sendFile(new DataChannel(a), { name: 'x.bin', bytes }, (done) =>
      sendProgress.push(done),
    );
    const file = await received;

    expect(verdict).toEqual({ ok: true, sha256: expected });
    expect(file.ok).toBe(true);
    expect(file.sha256).toBe(expected);
    expect(file.header).toMatchObject({ name: 'x.bin', size: bytes.length });
    expect(Buffer.from(file.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(sendProgress.at(-1)).toBe(bytes.length);
    expect(receiveProgress.at(-1)).toBe(bytes.length);
    // Header, four chunks (none over CHUNK_BYTES), end marker.
    expect(a.sent.slice(1, -1)).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 5]);
  });

  it('reports a mismatch when the bytes change on the way', async () => {
    const [a, b] = pair();
    a.corrupt = true;
    const bytes = new Uint8Array(randomBytes(CHUNK_BYTES));
    const received = receiveFile(new DataChannel(b));
    const verdict = await sendFile(new DataChannel(a), { name: 'y.bin', bytes });
    expect(verdict.ok).toBe(false);
    expect((await received).ok).toBe(false);
  });

  it('rejects when the channel closes mid-transfer', async () => {
    const [, b] = pair();
    const received = receiveFile(new DataChannel(b));
    b.close();
    await expect(received).rejects.toThrow(/closed/);
  });
});
