import type { StreamPosition } from '@metered/protocol';
import type { HistoryPage } from './history-types.js';

/** Most messages one `GET /v1/channels/:channel/history` answers. */
export const MAX_HISTORY_PAGE = 1000;

export interface HistoryQuery {
  readonly since: StreamPosition | undefined;
  readonly limit: number;
}

const EPOCH = /^[\x21-\x7e]{1,64}$/;
const OFFSET = /^\d{1,15}$/;

/**
 * The query of a history request: `since` and `epoch` together (or neither), `limit` from 1 to
 * {@link MAX_HISTORY_PAGE} (default 100). A string names what is wrong.
 */
export function parseHistoryQuery(parameters: URLSearchParams): HistoryQuery | string {
  const sinceText = parameters.get('since');
  const epoch = parameters.get('epoch');
  const limitText = parameters.get('limit');
  let limit = 100;
  if (limitText !== null) {
    limit = OFFSET.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_HISTORY_PAGE)) {
      return `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}`;
    }
  }
  if (sinceText === null && epoch === null) return { since: undefined, limit };
  if (sinceText === null || epoch === null) return 'since and epoch go together';
  if (!OFFSET.test(sinceText)) return 'since must be a non-negative integer';
  if (!EPOCH.test(epoch)) return 'epoch must be 1 to 64 printable characters';
  return { since: { offset: Number(sinceText), epoch }, limit };
}

/** The response body: the channel's position, whether nothing after `since` is missing, the page. */
export function historyBody(page: HistoryPage): unknown {
  return {
    epoch: page.position.epoch,
    offset: page.position.offset,
    recovered: page.recovered,
    messages: page.messages.map((entry) => ({
      offset: entry.offset,
      from: entry.from,
      data: entry.data,
      ...(entry.fromMetadata !== undefined && { fromMetadata: entry.fromMetadata }),
      timestamp: entry.timestamp,
    })),
  };
}

/**
 * A REST publish's idempotency key (extension `idempotency`): the body's `idempotencyKey`, else
 * the `Idempotency-Key` header; 1–128 characters. Scoped to the app and the publish's `from`.
 */
export function parseIdempotencyKey(header: unknown, field: unknown): string | undefined | Error {
  const key = field ?? header;
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > 128) {
    return new Error('idempotencyKey must be 1 to 128 characters');
  }
  return key;
}
