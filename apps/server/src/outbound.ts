import type { Duplex } from 'node:stream';

/**
 * A server → client frame, already encoded, as {@link BrokerConnection.deliver} receives it: a
 * string for a frame that goes to one socket, or the UTF-8 bytes of a fan-out frame, encoded once
 * per event and written as they are to every socket it goes to (a string would be encoded again
 * for each socket). A {@link Broker} passes frames through unchanged.
 */
export type OutboundFrame = string | Buffer;

/** Encodes a frame that fans out to several sockets, once. */
export function fanOutFrame(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** What the write coalescer needs of a socket's transport (a `net.Socket`, or any `Duplex`). */
export type CorkableTransport = Pick<Duplex, 'cork' | 'uncork' | 'writableCorked'>;

const corked: CorkableTransport[] = [];
let flushScheduled = false;

function flushCorked(): void {
  flushScheduled = false;
  // A transport corked again while flushing (a write from an `uncork` side effect) is pushed
  // past the current length and flushed in this same pass.
  for (let index = 0; index < corked.length; index++) corked[index]?.uncork();
  corked.length = 0;
}

/**
 * Coalesces a socket's writes until the end of this turn of the event loop: the first write of
 * a turn corks the socket's transport, and one `setImmediate` for every socket uncorks them all,
 * so the frames a socket gets in one turn leave in one `writev` instead of one system call each.
 * Frames keep the order they were written in (the stream's own FIFO), and the corked bytes count
 * in `ws.bufferedAmount`, so the outbound bound sees them.
 */
export function coalesceWrites(transport: CorkableTransport): void {
  if (transport.writableCorked !== 0) return;
  transport.cork();
  corked.push(transport);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushCorked);
  }
}

/**
 * Hands a transport's held-back writes to it now (the end-of-turn flush then finds it uncorked
 * and leaves it be; a later write of this turn corks it again).
 */
export function flushNow(transport: CorkableTransport): void {
  while (transport.writableCorked > 0) transport.uncork();
}

/**
 * Calls `resume` once a transport took what was written to it (held-back writes are handed to it
 * first): at its next `drain`, or on the next turn when nothing waits. Returns the cancel.
 */
export function afterDrain(
  transport:
    (CorkableTransport & Partial<Pick<Duplex, 'once' | 'off' | 'writableLength'>>) | undefined,
  resume: () => void,
): () => void {
  if (transport !== undefined) flushNow(transport);
  if (transport?.once !== undefined && (transport.writableLength ?? 0) > 0) {
    transport.once('drain', resume);
    return () => transport.off?.('drain', resume);
  }
  const immediate = setImmediate(resume);
  return () => clearImmediate(immediate);
}
