import { type DataChannel, DCClose, DCMessage } from '@metered/datachannel';

// A file over one data channel, the same in browsers and on Node: a JSON header, binary chunks,
// a JSON end marker; the receiver checks the SHA-256 and answers with a JSON verdict.

/** Label prefix of the data channels that carry a file. */
export const FILE_CHANNEL_PREFIX = 'file/';
/** Bytes per data-channel message: small enough for every WebRTC stack. */
export const CHUNK_BYTES = 16 * 1024;

export interface FileHeader {
  readonly type: 'file';
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly sha256: string;
}

interface EndMarker {
  readonly type: 'end';
}

interface Verdict {
  readonly type: 'verdict';
  readonly ok: boolean;
  readonly sha256: string;
}

export interface ReceivedFile {
  readonly header: FileHeader;
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The SHA-256 of what arrived (hex). */
  readonly sha256: string;
  /** Whether it equals the sender's. */
  readonly ok: boolean;
}

/** Progress: bytes handed to the channel (sending) or received, and the total. */
export type ProgressHandler = (done: number, total: number) => void;

/** Hex SHA-256 through Web Crypto (browsers and Node ≥ 20). */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isHeader(value: unknown): value is FileHeader {
  const header = value as FileHeader | undefined;
  return (
    header?.type === 'file' &&
    typeof header.name === 'string' &&
    Number.isSafeInteger(header.size) &&
    header.size >= 0 &&
    typeof header.sha256 === 'string'
  );
}

/** Waits for the channel's next message that `accept` takes, or rejects when it closes. */
function nextMessage<T>(
  channel: DataChannel,
  accept: (data: string | ArrayBuffer) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      offMessage();
      offClose();
    };
    const offMessage = channel.on(DCMessage, ({ data }) => {
      const value = accept(data);
      if (value === undefined) return;
      stop();
      resolve(value);
    });
    const offClose = channel.on(DCClose, () => {
      stop();
      reject(new Error('the data channel closed before the transfer finished'));
    });
  });
}

/**
 * Sends a file and resolves with the receiver's verdict (whether its SHA-256 matched). The
 * channel may still be connecting; the wrapper's backpressure paces the chunks.
 */
export async function sendFile(
  channel: DataChannel,
  file: { readonly name: string; readonly mime?: string; readonly bytes: Uint8Array<ArrayBuffer> },
  onProgress: ProgressHandler = () => {},
): Promise<{ readonly ok: boolean; readonly sha256: string }> {
  const { bytes } = file;
  const sha256 = await sha256Hex(bytes);
  const verdict = nextMessage(channel, (data) => {
    const value = typeof data === 'string' ? (parseJson(data) as Verdict | undefined) : undefined;
    return value?.type === 'verdict' ? value : undefined;
  });
  verdict.catch(() => {});
  const header: FileHeader = {
    type: 'file',
    name: file.name,
    size: bytes.byteLength,
    mime: file.mime ?? 'application/octet-stream',
    sha256,
  };
  await channel.send(JSON.stringify(header));
  onProgress(0, bytes.byteLength);
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    const chunk = bytes.slice(offset, Math.min(offset + CHUNK_BYTES, bytes.byteLength));
    await channel.send(chunk);
    onProgress(Math.min(offset + CHUNK_BYTES, bytes.byteLength), bytes.byteLength);
  }
  await channel.send(JSON.stringify({ type: 'end' } satisfies EndMarker));
  const answer = await verdict;
  return { ok: answer.ok && answer.sha256 === sha256, sha256 };
}

/**
 * Receives one file from a channel opened by {@link sendFile}: calls `onHeader` when the header
 * arrives, `onProgress` per chunk, checks the SHA-256 and answers the sender with the verdict.
 */
export async function receiveFile(
  channel: DataChannel,
  handlers: { onHeader?: (header: FileHeader) => void; onProgress?: ProgressHandler } = {},
): Promise<ReceivedFile> {
  let header: FileHeader | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  await nextMessage(channel, (data) => {
    if (typeof data === 'string') {
      const value = parseJson(data);
      if (isHeader(value)) {
        header = value;
        handlers.onHeader?.(value);
        handlers.onProgress?.(0, value.size);
        return undefined;
      }
      return (value as EndMarker | undefined)?.type === 'end' ? true : undefined;
    }
    if (!header) return undefined;
    chunks.push(new Uint8Array(data));
    received += data.byteLength;
    handlers.onProgress?.(received, header.size);
    return undefined;
  });
  if (!header) throw new Error('the transfer ended without a header');
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const sha256 = await sha256Hex(bytes);
  const ok = sha256 === header.sha256 && received === header.size;
  await channel.send(JSON.stringify({ type: 'verdict', ok, sha256 } satisfies Verdict));
  return { header, bytes, sha256, ok };
}
