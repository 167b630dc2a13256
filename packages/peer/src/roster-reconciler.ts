import { MeteredRealtimeError } from '@metered/errors';
import type { JsonObject } from '@metered/protocol';
import type { Presence, PresencePeer } from '@metered/signalling';
import {
  MAX_REMOTE_PEERS as maxRemotePeers,
  RECONCILE_TIMEOUT_MS as reconcileTimeoutMs,
  MAX_RESUBSCRIBES as maxResubscribes,
} from './options.js';
import { PeerJoined, PeerLeft } from './membership-events.js';
import type { RemotePeer } from './remote-peer.js';

type Timer = ReturnType<typeof setTimeout>;

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
 * is the full roster: members in it survive, new ones join. A survivor keeps its peer connection
 * when it can (see `RemotePeer.keepsConnection`); otherwise it gets a new one
 * (`ConnectionReset`). Members missing from the roster may only be late (after a server restart
 * everyone reconnects at once), and a member presence reports as gone while its connection to us
 * is up may be blipping: both are held for `reconcileTimeoutMs` and stay if presence reports them
 * in time; otherwise they leave (a blipping one at once when its connection closes meanwhile, see
 * `RemotePeer`). No roster in time: subscribe again, up to `maxResubscribes` times, then give up
 * with a fatal error.
 */
export class RosterReconciler {
  /** The other members of the channel, by peer id. */
  readonly remotes = new Map<string, RemotePeer>();
  readonly #host: RosterReconcilerHost;
  #reconciling = false;
  #reconcileTimer: Timer | undefined;
  #resubscribes = 0;
  /** Members held in case they are only late or blipping, each with its deadline. */
  readonly #late = new Map<string, Timer>();
  /** The local peer id when the connection dropped (a new one means nobody can keep anything). */
  #peerIdBefore: string | null = null;

  constructor(host: RosterReconcilerHost) {
    this.#host = host;
  }

  /** The connection dropped: a reconnect's roster will be reconciled against the current one. */
  suspend(): void {
    this.stop();
    this.#peerIdBefore = this.#host.localPeerId();
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
    for (const timer of this.#late.values()) clearTimeout(timer);
    this.#late.clear();
    this.#reconciling = false;
  }

  /** A member's connection closed by itself: `true` to rebuild it, `false` if it is leaving. */
  connectionEnded(peerId: string): boolean {
    if (!this.#late.has(peerId)) return true;
    this.#remove(peerId);
    return false;
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
    this.#unhold(peerId);
    const remote = this.remotes.get(peerId);
    if (!remote) return;
    this.remotes.delete(peerId);
    remote.close();
    this.#host.emit(new PeerLeft({ peer: remote }));
  }

  #applyPresence(event: Presence): void {
    for (const { peerId } of event.left) {
      const remote = this.remotes.get(peerId);
      // Departures a shutting-down server reports are its own sockets closing, and a member whose
      // connection to us is up may only be blipping: the next presence decides.
      if (remote && (this.#host.goingAway() || remote.connected())) this.#hold(peerId);
      else this.#remove(peerId);
    }
    for (const member of event.joined) {
      const remote = this.remotes.get(member.peerId);
      if (remote && this.#unhold(member.peerId)) this.#survive(remote, member.metadata ?? null);
      else this.#add(member);
    }
  }

  #reconcile(event: Presence): void {
    this.#reconciling = false;
    this.#clearReconcile();
    const roster = new Map(event.joined.map((member) => [member.peerId, member]));
    const survivors = [...this.remotes.values()].filter((remote) => roster.has(remote.id));
    for (const remote of this.remotes.values()) {
      if (roster.has(remote.id)) this.#unhold(remote.id);
      else this.#hold(remote.id);
    }
    for (const member of event.joined) {
      if (!this.remotes.has(member.peerId)) this.#add(member);
    }
    this.#host.rejoined();
    for (const remote of survivors) {
      if (this.remotes.get(remote.id) === remote) {
        this.#survive(remote, roster.get(remote.id)?.metadata ?? null);
      }
    }
    this.#peerIdBefore = null;
    this.#host.releaseDirects();
  }

  /** A member still there after a reconnect or a blip keeps its connection, or gets a new one. */
  #survive(remote: RemotePeer, metadata: JsonObject | null): void {
    const localPeerId = this.#host.localPeerId() ?? '';
    const samePeerId = this.#peerIdBefore === null || this.#peerIdBefore === localPeerId;
    if (samePeerId && remote.keepsConnection()) remote.keep(metadata);
    else remote.reset(metadata, localPeerId);
  }

  /** Holds a member until the deadline: it leaves then unless presence reports it again. */
  #hold(peerId: string): void {
    if (this.#late.has(peerId)) return;
    this.#late.set(
      peerId,
      setTimeout(() => {
        this.#late.delete(peerId);
        this.#remove(peerId);
      }, reconcileTimeoutMs),
    );
  }

  /** Ends a member's hold; `true` when it was held. */
  #unhold(peerId: string): boolean {
    const timer = this.#late.get(peerId);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#late.delete(peerId);
    return true;
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
