import type { PeerRevocation } from '../broker.js';

/**
 * The kicked peer ids of one process, each until its revocation ends. Ended entries are dropped
 * when read and swept on every write, so the map holds only revocations still in force.
 */
export class PeerRevocations {
  private readonly entries = new Map<string, PeerRevocation>();

  private static key(appId: string, peerId: string): string {
    return `${appId}\u0000${peerId}`;
  }

  /** Records (or replaces) the revocation of a peer id; one already ended is not kept. */
  revoke(appId: string, peerId: string, revocation: PeerRevocation, now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.until <= now) this.entries.delete(key);
    }
    const key = PeerRevocations.key(appId, peerId);
    if (revocation.until > now) this.entries.set(key, revocation);
    else this.entries.delete(key);
  }

  /** The revocation of a peer id in force at `now`, if any. */
  get(appId: string, peerId: string, now: number): PeerRevocation | undefined {
    const key = PeerRevocations.key(appId, peerId);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
