/** What the node-wide outbound cap needs of a socket. */
export interface OutboundHolder {
  /** The socket's unsent bytes, once the writes held back this turn were handed to the kernel. */
  unsentBytes(): number;
  /** The socket is already closing (its close frame waits behind its unsent bytes). */
  readonly isClosing: boolean;
  /** Closes an open socket as a slow consumer and drops it, freeing what it holds. */
  shedAsSlowConsumer(): void;
  /** Drops a closing socket and its unsent bytes, without waiting for its closing handshake. */
  terminate(): void;
}

/**
 * Bounds what the unsent bytes of every socket of a node add up to (`connections.maxOutboundBytes`).
 * Each write records its socket's unsent bytes, keeping a running sum; a socket's entry is only
 * refreshed when it is written to, so the sum may overstate what sockets that drained since still
 * hold. Once it passes the cap, the sockets are counted again (after the turn, once) and, while
 * the real sum is over the cap: sockets already closing that still hold bytes are dropped first,
 * largest first (their close frame sits behind bytes their client is not reading); then open
 * sockets are shed as slow consumers, largest first.
 */
export class OutboundMemoryCap {
  private readonly held = new Map<OutboundHolder, number>();
  private total = 0;
  private check: NodeJS.Immediate | undefined;

  /** @param cap the cap in force, in bytes (read at each check, so a reload applies). */
  constructor(private readonly cap: () => number) {}

  /** The running sum (an upper bound of the real one, exact after a check). */
  get recordedBytes(): number {
    return this.total;
  }

  /** Records a socket's unsent bytes after a write to it. */
  record(holder: OutboundHolder, bytes: number): void {
    const previous = this.held.get(holder) ?? 0;
    this.held.set(holder, bytes);
    this.total += bytes - previous;
    if (this.total > this.cap() && this.check === undefined) {
      this.check = setImmediate(() => {
        this.check = undefined;
        this.enforce();
      });
    }
  }

  /** The socket is gone, and its bytes with it. */
  forget(holder: OutboundHolder): void {
    this.total -= this.held.get(holder) ?? 0;
    this.held.delete(holder);
  }

  /** Counts every socket's unsent bytes again and sheds the largest holders while over the cap. */
  enforce(): void {
    const cap = this.cap();
    const holders: { holder: OutboundHolder; bytes: number }[] = [];
    let total = 0;
    for (const holder of this.held.keys()) {
      const bytes = holder.unsentBytes();
      this.held.set(holder, bytes);
      total += bytes;
      if (bytes > 0) holders.push({ holder, bytes });
    }
    this.total = total;
    if (total <= cap) return;
    holders.sort((a, b) => b.bytes - a.bytes);
    let remaining = total;
    for (const { holder, bytes } of holders) {
      if (remaining <= cap) return;
      if (!holder.isClosing) continue;
      holder.terminate();
      remaining -= bytes;
    }
    for (const { holder, bytes } of holders) {
      if (remaining <= cap) return;
      if (holder.isClosing) continue;
      holder.shedAsSlowConsumer();
      remaining -= bytes;
    }
  }

  /** Cancels a pending check (the server closed). */
  dispose(): void {
    if (this.check !== undefined) clearImmediate(this.check);
    this.check = undefined;
  }
}
