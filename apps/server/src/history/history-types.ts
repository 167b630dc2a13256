import type { JsonObject, StreamPosition } from '@metered/protocol';
import type { OutboundFrame } from '../outbound.js';

/** How a channel keeps history (extension `recovery`), resolved from the app's configuration. */
export interface HistoryPolicy {
  /** Messages kept per channel. */
  readonly size: number;
  /** How long a message is kept. */
  readonly ttlMs: number;
  /** Bytes of history the app may hold (memory broker). */
  readonly maxBytes: number;
  /** Most messages one recovery replays. */
  readonly maxReplay: number;
}

/** One message of a channel's history. */
export interface HistoryEntry {
  readonly offset: number;
  readonly from: string;
  readonly data: unknown;
  readonly fromMetadata: JsonObject | undefined;
  /** When it was published (epoch ms). */
  readonly timestamp: number;
}

/**
 * What a subscribe to a channel with history learns: the channel's position when the
 * subscription took effect and, for a subscribe with `since`, whether the gap can be filled and
 * the messages that fill it (every message after `since.offset` up to `position.offset`).
 */
export interface Recovery {
  readonly position: StreamPosition;
  /** Undefined without `since`. */
  readonly recovered: boolean | undefined;
  /** The replay, in offset order: empty unless `recovered`; a promise on a network broker. */
  readonly replay: readonly HistoryEntry[] | Promise<readonly HistoryEntry[]>;
}

/** A page of a channel's history, as the REST API answers it. */
export interface HistoryPage {
  readonly position: StreamPosition;
  /** True when every message after `since` up to `position` is in `messages`. */
  readonly recovered: boolean;
  readonly messages: readonly HistoryEntry[];
}

/** An idempotency key of a publish or send, scoped to the app and the sender's peer id. */
export interface IdempotencyClaim {
  readonly key: string;
  readonly windowMs: number;
}

/**
 * What {@link Broker.publish} and {@link Broker.sendDirect} resolve to for a message whose
 * idempotency key was already used within its window: nothing was applied.
 */
export const DUPLICATE = -1;

/** A replay the connection writes in pages: frames produced one by one, or later. */
export type ReplaySource = Iterator<OutboundFrame> | Promise<Iterator<OutboundFrame>>;
