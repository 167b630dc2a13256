import { createHash } from 'node:crypto';
import { DCClose, DCMessage, type DataChannel } from '@metered/datachannel';

// One file per data channel: a JSON header, the bytes in binary chunks, then the receiver's
// JSON receipt on the same channel.

/** Bytes per data-channel message: small enough for every WebRTC stack. */
export const CHUNK_BYTES = 16 * 1024;

export interface FileHeader {
  readonly type: 'file';
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export interface Receipt {
  readonly type: 'receipt';
  /** Whether the SHA-256 of what arrived equals the header's. */
  readonly ok: boolean;
  readonly sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parse(data: string | ArrayBuffer): unknown {
  if (typeof data !== 'string') return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function isHeader(value: unknown): value is FileHeader {
  const header = value as Partial<FileHeader> | undefined;
  return (
    header?.type === 'file' &&
    typeof header.name === 'string' &&
    Number.isSafeInteger(header.size) &&
    (header.size ?? -1) >= 0 &&
    typeof header.sha256 === 'string'
  );
}

/** Waits for the next message, or rejects when the channel closes first. */
function nextMessage(channel: DataChannel): Promise<string | ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const offMessage = channel.once(DCMessage, ({ data }) => {
      offClose();
      resolve(data);
    });
    const offClose = channel.once(DCClose, () => {
      offMessage();
      reject(new Error('the channel closed'));
    });
  });
}

/**
 * Sends `bytes` as `name` and resolves with the receiver's receipt. `DataChannel.send` waits
 * while the channel's buffer is full, so a large file never piles up in memory twice.
 */
export async function sendFile(
  channel: DataChannel,
  name: string,
  bytes: Uint8Array,
  onProgress?: (sent: number, total: number) => void,
): Promise<Receipt> {
  const receipt = nextMessage(channel);
  const header: FileHeader = {
    type: 'file',
    name,
    size: bytes.byteLength,
    sha256: sha256Hex(bytes),
  };
  await channel.send(JSON.stringify(header));
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
    await channel.send(chunk);
    onProgress?.(offset + chunk.byteLength, bytes.byteLength);
  }
  const answer = parse(await receipt);
  if ((answer as Partial<Receipt> | undefined)?.type !== 'receipt') {
    throw new Error('the receiver did not send a receipt');
  }
  return answer as Receipt;
}

export interface ReceivedFile {
  readonly header: FileHeader;
  readonly bytes: Uint8Array;
  /** The SHA-256 of what arrived. */
  readonly sha256: string;
  /** Whether it equals the header's. */
  readonly ok: boolean;
}

/**
 * Receives one file (header, then exactly `size` bytes) and checks its SHA-256. Rejects on a
 * malformed header, on too many bytes, or when the channel closes early. Answer with
 * {@link sendReceipt} once the file is taken care of.
 */
export function receiveFile(
  channel: DataChannel,
  onProgress?: (received: number, total: number) => void,
): Promise<ReceivedFile> {
  return new Promise((resolve, reject) => {
    let header: FileHeader | undefined;
    let bytes = new Uint8Array(0);
    let received = 0;
    const finish = (error?: Error): void => {
      offMessage();
      offClose();
      if (error) reject(error);
    };
    const offClose = channel.on(DCClose, () => finish(new Error('the channel closed early')));
    const offMessage = channel.on(DCMessage, ({ data }) => {
      if (!header) {
        const value = parse(data);
        if (!isHeader(value)) return finish(new Error('not a file header'));
        header = value;
        bytes = new Uint8Array(header.size);
      } else {
        if (typeof data === 'string') return finish(new Error('text in the middle of a file'));
        if (received + data.byteLength > header.size)
          return finish(new Error('more bytes than announced'));
        bytes.set(new Uint8Array(data), received);
        received += data.byteLength;
        onProgress?.(received, header.size);
      }
      if (received === header.size) {
        const sha256 = sha256Hex(bytes);
        finish();
        resolve({ header, bytes, sha256, ok: sha256 === header.sha256 });
      }
    });
  });
}

/** Tells the sender how the file arrived: the last message on the channel. */
export function sendReceipt(channel: DataChannel, file: ReceivedFile): Promise<void> {
  return channel.send(
    JSON.stringify({ type: 'receipt', ok: file.ok, sha256: file.sha256 } satisfies Receipt),
  );
}
