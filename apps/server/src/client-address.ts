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

/** The eight 16-bit groups of an IPv6 address (`isIP` already said it is one), or `undefined`. */
function ipv6Groups(address: string): number[] | undefined {
  const withoutZone = address.split('%')[0] as string;
  const halves = withoutZone.split('::');
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
        groups.push((a << 8) | b, (c << 8) | d);
      } else groups.push(parseInt(piece, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length > 1 ? groupsOf(halves[1] as string) : [];
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return groups.length === 8 ? groups : undefined;
}

/**
 * The key per-address socket limits count under: an IPv4 address as it is (also when written
 * IPv4-mapped, `::ffff:203.0.113.7`), an IPv6 address by its /64 (one subscriber usually holds a
 * whole /64, so counting single IPv6 addresses would let one client pick as many as it likes).
 * Anything else (no address known) is its own key.
 */
export function addressGroup(address: string): string {
  const family = isIP(address.split('%')[0] as string);
  if (family === 4) return address;
  if (family !== 6) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  const isMapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const [high, low] = [groups[6] as number, groups[7] as number];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
