import { randomBytes } from 'node:crypto';
import type { ConnectionIdentity } from './auth.js';
import {
  isPromise,
  type Broker,
  type BrokerConnection,
  type ClaimedSession,
  type HeldIdentity,
  type MaybePromise,
} from './broker/broker.js';
import type { ServerMetrics } from './metrics.js';
import { resumeBinding, resumeCredentialHash } from './session-hold.js';
import type { ExtensionSettings } from './welcome-extensions.js';

/** How long a resumed connection has to subscribe again to a held channel before it is left. */
export const HELD_CHANNEL_GRACE_MS = 10_000;

/** What one connection's resume needs of the server around it. */
export interface ConnectionResumeContext {
  readonly broker: Broker;
  readonly metrics: ServerMetrics;
  readonly settings: () => ExtensionSettings;
}

/**
 * Extension `resume` for one connection: the credential it was issued last, the claim of a held
 * session when it connects with one, holding its session when it drops, and the grace after a
 * resume within which held channels must be subscribed again.
 */
export class ConnectionResume {
  /** The credential issued last, which claims this session (held, or live until noticed gone). */
  private resumeToken: string | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: BrokerConnection,
    private readonly context: ConnectionResumeContext,
  ) {}

  /** Whether the server serves the extension (config, and a broker that can hold). */
  get served(): boolean {
    const { broker } = this.context;
    return (
      this.context.settings().extensions.resume &&
      broker.hold !== undefined &&
      broker.resume !== undefined
    );
  }

  /**
   * Claims the session `resumeToken` names for a connection authenticated as `identity`;
   * `adopt` gives the connection the held id and peer id. Undefined: start fresh.
   */
  claim(
    resumeToken: string,
    identity: ConnectionIdentity,
    adopt: (held: HeldIdentity) => BrokerConnection,
  ): MaybePromise<ClaimedSession | undefined> {
    const { broker, metrics } = this.context;
    if (!this.served) return undefined;
    const claimed = (broker.resume as NonNullable<Broker['resume']>).call(
      broker,
      identity.app.id,
      resumeCredentialHash(resumeToken),
      resumeBinding(identity),
      adopt,
    );
    const counted = (session: ClaimedSession | undefined): ClaimedSession | undefined => {
      if (session !== undefined) metrics.sessionsTotal.inc({ outcome: 'resumed' });
      return session;
    };
    return isPromise(claimed) ? claimed.then(counted) : counted(claimed);
  }

  /** A new single-use credential (the `session` frame); the one issued before no longer works. */
  issue(identity: ConnectionIdentity): MaybePromise<{ resumeToken: string; windowMs: number }> {
    const resumeToken = randomBytes(32).toString('base64url');
    this.resumeToken = resumeToken;
    const issued = { resumeToken, windowMs: this.context.settings().resume.windowMs };
    const { broker } = this.context;
    if (broker.registerResume === undefined) return issued;
    const registered = broker.registerResume(
      this.connection,
      resumeCredentialHash(resumeToken),
      resumeBinding(identity),
    );
    return isPromise(registered) ? registered.then(() => issued) : issued;
  }

  /**
   * After a resume: `leave` runs once {@link HELD_CHANNEL_GRACE_MS} has passed, to leave the held
   * channels not subscribed again.
   */
  startGrace(leave: () => void): void {
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      leave();
    }, HELD_CHANNEL_GRACE_MS);
  }

  /**
   * The socket ended: holds the session (when a credential was issued and `mayHold`), or
   * detaches it (members hear `left`). Clears the grace timer.
   */
  leave(identity: ConnectionIdentity | undefined, mayHold: boolean): MaybePromise<void> {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const { broker, metrics } = this.context;
    if (!mayHold || this.resumeToken === undefined || identity === undefined || !this.served) {
      return broker.detach(this.connection);
    }
    const { resume } = this.context.settings();
    const held = (broker.hold as NonNullable<Broker['hold']>).call(broker, this.connection, {
      credential: resumeCredentialHash(this.resumeToken),
      binding: resumeBinding(identity),
      windowMs: resume.windowMs,
      maxDirects: resume.maxHeldDirects,
    });
    const counted = (): void => metrics.sessionsTotal.inc({ outcome: 'held' });
    if (isPromise(held)) return held.then(counted);
    counted();
  }

  /** Clears the grace timer (the socket is closing). */
  clear(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }
}
