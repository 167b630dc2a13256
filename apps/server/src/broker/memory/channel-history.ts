import { randomBytes } from 'node:crypto';
import type { JsonObject, StreamPosition } from '@metered/protocol';
import { STREAM_RETENTION_MS } from '../../history/history-config.js';
import type { HistoryEntry, HistoryPage, HistoryPolicy } from '../../history/history-types.js';

interface StoredEntry extends HistoryEntry {
  /** What the entry counts against the app's byte budget. */
  bytes: number;
}

interface Stream {
  readonly epoch: string;
  offset: number;
  /** Oldest first; `entries[head]` is the oldest kept. */
  entries: StoredEntry[];
  head: number;
  lastAppend: number;
  ttlMs: number;
}

/** Bytes a stream counts for itself (its epoch, offset and channel name). */
const STREAM_OVERHEAD_BYTES = 96;

/** A new stream's epoch: random, so that a restarted server never reuses one. */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/**
 * One app's channel history on a memory-broker node: per channel a ring of recent messages
 * (bounded by the channel's `size` and `ttlMs`) under a random epoch, and for the whole app a
 * byte budget. Streams are kept in the order of their last message, so the budget and the age
 * sweep take from the least recently published channels first, without a timer.
 */
export class AppHistory {
  private readonly streams = new Map<string, Stream>();
  private bytes = 0;
  /** The channel last moved to the end of {@link streams} (a hot channel stays put). */
  private newest: string | undefined;

  /** Bytes held (entries and streams), for the byte budget and the benches. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Appends a message; returns it (its byte size is set by {@link charge}) and its epoch. */
  append(
    channel: string,
    policy: HistoryPolicy,
    message: { from: string; data: unknown; fromMetadata: JsonObject | undefined },
    now: number,
  ): { readonly entry: StoredEntry; readonly epoch: string } {
    this.sweep(now);
    let stream = this.streams.get(channel);
    if (stream === undefined || channel !== this.newest) {
      if (stream) this.streams.delete(channel);
      else {
        stream = { epoch: newEpoch(), offset: 0, entries: [], head: 0, lastAppend: now, ttlMs: 0 };
        this.bytes += STREAM_OVERHEAD_BYTES + channel.length;
      }
      this.streams.set(channel, stream);
      this.newest = channel;
    }
    stream.lastAppend = now;
    stream.ttlMs = policy.ttlMs;
    stream.offset++;
    const entry: StoredEntry = {
      offset: stream.offset,
      from: message.from,
      data: message.data,
      fromMetadata: message.fromMetadata,
      timestamp: now,
      bytes: 0,
    };
    stream.entries.push(entry);
    this.trim(stream, policy.size, now);
    return { entry, epoch: stream.epoch };
  }

  /** Records the byte size of the entry just appended and enforces the app's budget. */
  charge(channel: string, entry: StoredEntry, bytes: number, maxBytes: number): void {
    entry.bytes = bytes;
    this.bytes += bytes;
    this.enforceBudget(channel, maxBytes);
  }

  /** The channel's position; starts a stream (offset 0) when it has none. */
  position(channel: string, now: number): StreamPosition {
    this.sweep(now);
    let stream = this.streams.get(channel);
    if (!stream) {
      stream = { epoch: newEpoch(), offset: 0, entries: [], head: 0, lastAppend: now, ttlMs: 0 };
      this.bytes += STREAM_OVERHEAD_BYTES + channel.length;
      this.streams.set(channel, stream);
      this.newest = channel;
    }
    return { offset: stream.offset, epoch: stream.epoch };
  }

  /**
   * Every message after `since` up to the channel's position, when all of them are still kept
   * and there are at most `limit`; otherwise `recovered: false` and the newest `limit` kept
   * messages after `since` (or none when the epoch differs).
   */
  read(
    channel: string,
    since: StreamPosition | undefined,
    limit: number,
    policy: HistoryPolicy,
    now: number,
  ): HistoryPage {
    const position = this.position(channel, now);
    const stream = this.streams.get(channel) as Stream;
    this.dropExpired(stream, policy.ttlMs, now);
    const kept = stream.entries.length - stream.head;
    const oldest = stream.offset - kept + 1;
    const sameEpoch = since === undefined || since.epoch === stream.epoch;
    const from = since === undefined ? oldest - 1 : since.offset;
    const recovered =
      sameEpoch && from <= stream.offset && from + 1 >= oldest && stream.offset - from <= limit;
    if (!sameEpoch) return { position, recovered: false, messages: [] };
    const start = Math.max(from + 1, oldest, stream.offset - limit + 1);
    const messages: HistoryEntry[] = [];
    for (let offset = start; offset <= stream.offset; offset++) {
      const entry = stream.entries[stream.head + (offset - oldest)] as StoredEntry;
      messages.push(entry);
    }
    return { position, recovered, messages };
  }

  private trim(stream: Stream, size: number, now: number): void {
    while (stream.entries.length - stream.head > size) this.dropOldest(stream);
    this.dropExpired(stream, stream.ttlMs, now);
  }

  private dropExpired(stream: Stream, ttlMs: number, now: number): void {
    while (stream.head < stream.entries.length) {
      const oldest = stream.entries[stream.head] as StoredEntry;
      if (oldest.timestamp + ttlMs > now) break;
      this.dropOldest(stream);
    }
  }

  private dropOldest(stream: Stream): void {
    const entry = stream.entries[stream.head] as StoredEntry;
    this.bytes -= entry.bytes;
    stream.entries[stream.head] = undefined as unknown as StoredEntry;
    stream.head++;
    // Compacts once the dropped half dominates, so the ring's array stays within 2 × size.
    if (stream.head > 32 && stream.head * 2 > stream.entries.length) {
      stream.entries = stream.entries.slice(stream.head);
      stream.head = 0;
    }
  }

  /** Drops the entries (and, after the retention, the streams) of channels quiet for too long. */
  private sweep(now: number): void {
    for (const [channel, stream] of this.streams) {
      if (stream.lastAppend + stream.ttlMs > now) return;
      this.dropExpired(stream, stream.ttlMs, now);
      if (stream.lastAppend + Math.max(stream.ttlMs, STREAM_RETENTION_MS) > now) return;
      this.streams.delete(channel);
      this.bytes -= STREAM_OVERHEAD_BYTES + channel.length;
    }
  }

  /** Over the budget, the least recently published channels lose their oldest messages first. */
  private enforceBudget(current: string, maxBytes: number): void {
    if (this.bytes <= maxBytes) return;
    for (const [channel, stream] of this.streams) {
      while (stream.head < stream.entries.length && this.bytes > maxBytes) this.dropOldest(stream);
      if (this.bytes <= maxBytes || channel === current) return;
      // A stream without messages is forgotten too: its epoch goes, so no one recovers across it.
      this.streams.delete(channel);
      this.bytes -= STREAM_OVERHEAD_BYTES + channel.length;
    }
  }
}
