import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The address a request came from, for per-address limits and logs. With `trustedProxyHops` 0 it
 * is the socket's peer. With N, the server sits behind N reverse proxies that each append the
 * address they saw to `X-Forwarded-For`: the client's address is the Nth entry from the right.
 * Entries further left were written by the client and are never believed. When the header has
 * fewer entries, or one that is not a plain IP address, the last address believed is used.
 */
export function clientAddress(request: IncomingMessage, trustedProxyHops: number): string {
  let address = request.socket.remoteAddress ?? 'unknown';
  if (trustedProxyHops === 0) return address;
  const header = request.headers['x-forwarded-for'];
  // Node joins repeated headers with ", " (an array joins with ","); its header size cap bounds
  // the list.
  const entries = String(header ?? '').split(',');
  for (let hop = 0; hop < trustedProxyHops; hop++) {
    const entry = entries.pop()?.trim();
    if (!entry || isIP(entry) === 0) break;
    address = entry;
  }
  return address;
}
