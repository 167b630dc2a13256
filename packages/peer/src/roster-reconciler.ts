import { MeteredRealtimeError } from '@metered/errors';
import type { Presence, PresencePeer } from '@metered/signalling';
import { METERED_PEER_DEFAULTS } from './options.js';
import { PeerJoined, PeerLeft } from './membership-events.js';
import type { RemotePeer } from './remote-peer.js';

type Timer = ReturnType<typeof setTimeout>;

const { maxRemotePeers, reconcileTimeoutMs, maxResubscribes } = METERED_PEER_DEFAULTS;

/** What a {@link RosterReconciler} needs from the `MeteredPeer` it works for. */
export interface RosterReconcilerHost {
  /** The local peer id from the last welcome, or `null` before one. */
  localPeerId(): string | null;
  /** The server announced its shutdown on this connection. */
  goingAway(): boolean;
  /** Builds the remote peer of a new member. */
  createRemote(member: PresencePeer): RemotePeer;
  emit(event: PeerJoined | PeerLeft): void;
  /** The roster came: the peer is `joined` again. */
  rejoined(): void;
  /** Directs held while the roster was awaited may go to their remote peers now. */
  releaseDirects(): void;
  /** Subscribes to the channel again (no roster came in time). */
  resubscribe(): void;
  fatal(err: unknown, reason: string): void;
  log(level: 'debug' | 'warn', message: string): void;
}

/**
 * The remote peers, kept in line with the channel's presence (at most `maxRemotePeers`;
 * `PeerJoined` and `PeerLeft` are emitted here). After a signalling reconnect the first presence
 * is the full roster: members in it survive (new connection, `ConnectionReset`), new ones join. Members missing from it may only be late (after a server restart everyone
 * reconnects at once): they stay, `reconnecting`, for `reconcileTimeoutMs` and survive if
 * presence reports them in time; otherwise they leave. No roster in time: subscribe again, up to
 * `maxResubscribes` times, then give up with a fatal error.
 */
export class RosterReconciler {
  /** The other members of the channel, by peer id. */
  readonly remotes = new Map<string, RemotePeer>();
  readonly #host: RosterReconcilerHost;
  #reconciling = false;
  #reconcileTimer: Timer | undefined;
  #resubscribes = 0;
  /** Members missing from the last roster, kept until the deadline in case they are only late. */
  readonly #late = new Set<string>();
  #lateTimer: Timer | undefined;

  constructor(host: RosterReconcilerHost) {
    this.#host = host;
  }

  /** A reconnect's welcome: the next presence is the roster to reconcile against. */
  start(): void {
    this.#reconciling = true;
    this.#resubscribes = 0;
    this.#armReconcile();
  }

  /** The connection dropped or the peer closes: nothing awaited, every timer cleared. */
  stop(): void {
    this.#clearReconcile();
    this.#clearLate();
    this.#late.clear();
    this.#reconciling = false;
  }

  /** A presence frame of the channel. */
  apply(event: Presence): void {
    if (this.#reconciling) this.#reconcile(event);
    else this.#applyPresence(event);
  }

  /** The local peer closes: every remote peer leaves. */
  removeAll(): void {
    for (const peerId of [...this.remotes.keys()]) this.#remove(peerId);
  }

  #add(member: PresencePeer): void {
    const { peerId } = member;
    if (peerId === this.#host.localPeerId() || this.remotes.has(peerId)) return;
    if (this.remotes.size >= maxRemotePeers) {
      this.#host.log('warn', `member ${peerId} ignored: ${maxRemotePeers} remote peers already`);
      return;
    }
    const remote = this.#host.createRemote(member);
    this.remotes.set(peerId, remote);
    this.#host.emit(new PeerJoined({ peer: remote }));
  }

  #remove(peerId: string): void {
    const remote = this.remotes.get(peerId);
    if (!remote) return;
    this.remotes.delete(peerId);
    remote.close();
    this.#host.emit(new PeerLeft({ peer: remote }));
  }

  #applyPresence(event: Presence): void {
    for (const { peerId } of event.left) {
      if (this.#host.goingAway() && this.remotes.has(peerId)) {
        // Departures a shutting-down server reports are its own sockets closing: the roster
        // after the reconnect decides whether the member is still there.
        this.#late.add(peerId);
        this.#armLate();
        continue;
      }
      this.#late.delete(peerId);
      this.#remove(peerId);
    }
    for (const member of event.joined) {
      const remote = this.remotes.get(member.peerId);
      if (remote && this.#late.delete(member.peerId)) {
        remote.reset(member.metadata, this.#host.localPeerId() ?? '');
        if (this.#late.size === 0) this.#clearLate();
      } else this.#add(member);
    }
  }

  #reconcile(event: Presence): void {
    this.#reconciling = false;
    this.#clearReconcile();
    const roster = new Map(event.joined.map((member) => [member.peerId, member]));
    const survivors = [...this.remotes.values()].filter((remote) => roster.has(remote.id));
    this.#clearLate();
    this.#late.clear();
    for (const remote of this.remotes.values()) {
      if (!roster.has(remote.id)) this.#late.add(remote.id);
    }
    for (const member of event.joined) {
      if (!this.remotes.has(member.peerId)) this.#add(member);
    }
    this.#host.rejoined();
    for (const remote of survivors) {
      if (this.remotes.get(remote.id) === remote) {
        remote.reset(roster.get(remote.id)?.metadata ?? null, this.#host.localPeerId() ?? '');
      }
    }
    if (this.#late.size > 0) this.#armLate();
    this.#host.releaseDirects();
  }

  /** Late members that presence has not reported by the deadline leave. */
  #armLate(): void {
    if (this.#lateTimer !== undefined) return;
    this.#lateTimer = setTimeout(() => {
      this.#lateTimer = undefined;
      const late = [...this.#late];
      this.#late.clear();
      for (const peerId of late) this.#remove(peerId);
    }, reconcileTimeoutMs);
  }

  #clearLate(): void {
    if (this.#lateTimer !== undefined) clearTimeout(this.#lateTimer);
    this.#lateTimer = undefined;
  }

  #armReconcile(): void {
    this.#clearReconcile();
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = undefined;
      if (!this.#reconciling) return;
      if (this.#resubscribes >= maxResubscribes) {
        this.#host.fatal(
          new MeteredRealtimeError({ message: 'no roster for the channel after a reconnect' }),
          'reconcile timed out',
        );
        return;
      }
      this.#resubscribes++;
      this.#host.log(
        'warn',
        `no roster after reconnect; subscribing again (${this.#resubscribes})`,
      );
      this.#host.resubscribe();
      this.#armReconcile();
    }, reconcileTimeoutMs);
  }

  #clearReconcile(): void {
    if (this.#reconcileTimer !== undefined) clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
  }
}
