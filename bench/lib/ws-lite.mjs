// A minimal WebSocket client over `net` for the receiving side of the benchmarks: it reads frame
// headers and hands each complete text frame to a callback as (buffer, start, end) without
// copying or decoding it, so a thousand receivers in one process cost little per frame.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export class LiteSocket {
  /**
   * @param {string} url ws://host:port/path?query
   * @param {(buffer: Buffer, start: number, end: number) => void} onFrame a complete text frame
   */
  constructor(url, onFrame) {
    const { hostname, port, pathname, search } = new URL(url);
    this.onFrame = onFrame;
    this.partial = null; // bytes of an unfinished frame (header included)
    this.open = false;
    this.closed = false;
    this.opened = new Promise((resolve, reject) => {
      this.socket = connect({ host: hostname, port: Number(port), noDelay: true }, () => {
        const key = randomBytes(16).toString('base64');
        this.socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
            `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let head = Buffer.alloc(0);
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.includes(' 101 ')) {
          reject(new Error(`upgrade refused: ${status}`));
          this.socket.destroy();
          return;
        }
        this.socket.off('data', onData);
        this.socket.on('data', (data) => this.#read(data));
        this.open = true;
        resolve();
        const rest = head.subarray(end + 4);
        if (rest.length > 0) this.#read(rest);
      };
      this.socket.on('data', onData);
      this.socket.once('error', (error) => {
        if (!this.open) reject(error);
      });
      this.socket.once('close', () => {
        this.open = false;
        this.closed = true;
        if (!this.open) reject(new Error('socket closed before the upgrade'));
        this.onClose?.();
      });
    });
  }

  #read(chunk) {
    let buffer = chunk;
    let offset = 0;
    if (this.partial) {
      // Complete the unfinished frame from the start of this chunk (frames are small).
      buffer = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    const length = buffer.length;
    while (offset < length) {
      if (length - offset < 2) break;
      const first = buffer[offset];
      let payloadLength = buffer[offset + 1] & 0x7f;
      let headerLength = 2;
      if (payloadLength === 126) {
        if (length - offset < 4) break;
        payloadLength = buffer.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (payloadLength === 127) {
        if (length - offset < 10) break;
        payloadLength = Number(buffer.readBigUInt64BE(offset + 2));
        headerLength = 10;
      }
      const end = offset + headerLength + payloadLength;
      if (end > length) break;
      const opcode = first & 0x0f;
      if (opcode === 0x1) this.onFrame(buffer, offset + headerLength, end);
      else if (opcode === 0x9) this.#sendFrame(0xa, buffer.subarray(offset + headerLength, end));
      else if (opcode === 0x8) {
        this.closeCode = payloadLength >= 2 ? buffer.readUInt16BE(offset + headerLength) : 1005;
        this.socket.end();
      }
      offset = end;
    }
    if (offset < length) this.partial = Buffer.from(buffer.subarray(offset));
  }

  #sendFrame(opcode, payload) {
    if (this.closed) return;
    const length = payload.length;
    const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerLength + 4 + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, headerLength);
    for (let index = 0; index < length; index++) {
      frame[headerLength + 4 + index] = payload[index] ^ mask[index & 3];
    }
    this.socket.write(frame);
  }

  /** Sends a text frame. */
  send(text) {
    this.#sendFrame(0x1, Buffer.from(text));
  }

  /** Drops the connection without a closing handshake. */
  destroy() {
    this.socket.destroy();
  }
}

const T_KEY = Buffer.from('"t":');

/**
 * Reads the timestamp (µs) written as `"t":<digits>` in a frame, or -1. Only the bytes of the
 * frame are looked at.
 */
export function timestampOf(buffer, start, end) {
  const at = buffer.indexOf(T_KEY, start);
  if (at < 0 || at >= end) return -1;
  let value = 0;
  for (let index = at + 4; index < end; index++) {
    const digit = buffer[index] - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}

/** True when the frame's text equals `text` (short control frames such as Engine.IO's ping). */
export function frameEquals(buffer, start, end, text) {
  if (end - start !== text.length) return false;
  for (let index = 0; index < text.length; index++) {
    if (buffer[start + index] !== text.charCodeAt(index)) return false;
  }
  return true;
}
