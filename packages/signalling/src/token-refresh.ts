// When the client hands the server a fresh token (extension `refresh`), and how often it tries.

/** The latest a token is refreshed before it expires. */
const MAX_MARGIN_MS = 60_000;

/** A refresh whose token fetch failed or that the server refused is tried again this often. */
export const REFRESH_RETRIES = 3;

/**
 * How long to wait, for a token that expires in `leftMs` (by the server's clock), before
 * refreshing it: until a third of the lifetime left remains, at most 60 s before expiry. A
 * 3-second token is refreshed after 2 s, a 1-hour token after 59 minutes; a retry computed from
 * what is left then comes sooner each time.
 */
export const refreshDelay = (leftMs: number): number =>
  leftMs - Math.min(leftMs / 3, MAX_MARGIN_MS);
