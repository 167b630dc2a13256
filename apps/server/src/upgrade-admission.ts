import type { Duplex } from 'node:stream';
import type { ConnectionLimits } from './config.js';

/** Which limit refused an upgrade: HTTP 429 for the per-address ones, 503 for the node's. */
export type AdmissionRefusal = 'sockets_per_address' | 'pending_per_address' | 'pending';

/**
 * `Retry-After` of a refusal at the per-address socket cap: a slot frees only when one of the
 * address's sockets closes, which no timer bounds; a minute keeps a polite client from retrying
 * in a loop.
 */
export const SOCKETS_PER_ADDRESS_RETRY_AFTER_SECONDS = 60;

/** `Retry-After` of a refusal at a half-open cap: every half-open upgrade ends within the timeout. */
function pendingRetryAfterSeconds(limits: ConnectionLimits): number {
  return Math.max(1, Math.ceil(limits.pendingUpgradeTimeoutMs / 1000));
}

/** How an upgrade refused by {@link UpgradeAdmission} is answered (with `Retry-After`), and logged. */
export const ADMISSION_REFUSALS: Readonly<
  Record<
    AdmissionRefusal,
    {
      status: number;
      text: string;
      log: string;
      retryAfterSeconds: (limits: ConnectionLimits) => number;
    }
  >
> = Object.freeze({
  sockets_per_address: {
    status: 429,
    text: 'Too Many Requests',
    log: 'connect refused: sockets per address',
    retryAfterSeconds: () => SOCKETS_PER_ADDRESS_RETRY_AFTER_SECONDS,
  },
  pending_per_address: {
    status: 429,
    text: 'Too Many Requests',
    log: 'connect refused: pending upgrades per address',
    retryAfterSeconds: pendingRetryAfterSeconds,
  },
  pending: {
    status: 503,
    text: 'Service Unavailable',
    log: 'connect refused: pending upgrades',
    retryAfterSeconds: pendingRetryAfterSeconds,
  },
});

interface PendingUpgrade {
  readonly group: string;
  readonly timer: NodeJS.Timeout;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 0) - 1;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}

/**
 * Counts a node's WebSocket sockets per client address (see `addressGroup`) and its half-open
 * upgrades (received, not yet welcomed), and refuses an upgrade over `connections.maxPerAddress`,
 * `maxPendingUpgradesPerAddress` or `maxPendingUpgrades` before it is answered. A socket admitted
 * holds its slots until its TCP stream closes, however it closes (a failed handshake, a refused
 * connect, a drop); one still half-open after `pendingUpgradeTimeoutMs` is destroyed. Memory is
 * bounded by the sockets open: addresses without a socket are forgotten.
 */
export class UpgradeAdmission {
  private readonly sockets = new Map<string, number>();
  private readonly pendingPerGroup = new Map<string, number>();
  private readonly pending = new Map<Duplex, PendingUpgrade>();

  /**
   * @param limits the limits in force (read on every upgrade, so a reload applies to the next).
   * @param onTimeout called for each socket destroyed for staying half-open.
   */
  constructor(
    private readonly limits: () => ConnectionLimits,
    private readonly onTimeout: (group: string) => void = () => {},
  ) {}

  /** Upgrades admitted and not yet welcomed. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Open sockets counted against `group`. */
  socketsOf(group: string): number {
    return this.sockets.get(group) ?? 0;
  }

  /**
   * Admits an upgrade from address group `group` arriving on `transport`, or says which limit
   * refuses it (nothing is counted then).
   */
  admit(group: string, transport: Duplex): AdmissionRefusal | undefined {
    const limits = this.limits();
    if (this.socketsOf(group) >= limits.maxPerAddress) return 'sockets_per_address';
    if ((this.pendingPerGroup.get(group) ?? 0) >= limits.maxPendingUpgradesPerAddress) {
      return 'pending_per_address';
    }
    if (this.pending.size >= limits.maxPendingUpgrades) return 'pending';
    increment(this.sockets, group);
    increment(this.pendingPerGroup, group);
    const timer = setTimeout(() => {
      if (!this.pending.has(transport)) return;
      this.onTimeout(group);
      transport.destroy();
    }, limits.pendingUpgradeTimeoutMs);
    this.pending.set(transport, { group, timer });
    transport.once('close', () => {
      this.welcomed(transport);
      decrement(this.sockets, group);
    });
    return undefined;
  }

  /** The socket on `transport` got its `welcome`: it is no longer half-open. */
  welcomed(transport: Duplex): void {
    const upgrade = this.pending.get(transport);
    if (upgrade === undefined) return;
    this.pending.delete(transport);
    clearTimeout(upgrade.timer);
    decrement(this.pendingPerGroup, upgrade.group);
  }

  /** Clears every timer (the server closed; the sockets are gone or going). */
  dispose(): void {
    for (const transport of [...this.pending.keys()]) this.welcomed(transport);
  }
}
