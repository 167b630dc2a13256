// Extension `resume`: which closes hold a session, and what a resume credential is bound to.
import { createHash } from 'node:crypto';
import { WsCloseCode } from '@metered/errors';
import type { ConnectionIdentity } from './auth.js';

/**
 * Server closes that end a session at once, resume or not: an invalid credential, a revoked
 * one, the limits, a suspension, a kick.
 */
const TERMINAL_SERVER_CLOSES: ReadonlySet<number> = new Set([
  WsCloseCode.INVALID_TOKEN,
  WsCloseCode.CHANNEL_NOT_AUTHORIZED,
  WsCloseCode.OVER_CONCURRENT_LIMIT,
  WsCloseCode.OVER_MESSAGE_RATE,
  WsCloseCode.ACCOUNT_SUSPENDED,
  WsCloseCode.ADMIN_DISCONNECT,
]);

/** A client close that ends the session: the client said goodbye. */
const CLEAN_CLIENT_CLOSE = 1000;

/**
 * Whether a session that negotiated resume is held after its socket ended: after any close but
 * a client's 1000 and a terminal server close. `serverCode` when the server closed, `clientCode`
 * when the socket ended otherwise (the client's code, 1005/1006 without one).
 */
export function holdsSessionAfter(
  close: { readonly serverCode: number } | { readonly clientCode: number },
): boolean {
  if ('serverCode' in close) return !TERMINAL_SERVER_CLOSES.has(close.serverCode);
  return close.clientCode !== CLEAN_CLIENT_CLOSE;
}

/** What the broker stores of a resume credential: its SHA-256, never the credential itself. */
export function resumeCredentialHash(resumeToken: string): string {
  return createHash('sha256').update(resumeToken, 'utf8').digest('base64url');
}

/**
 * Who may claim a held session besides the credential: a token connection with the same `sub`,
 * or a connection with the same publishable key (its peer ids are random: the held one is
 * taken over).
 */
export function resumeBinding(identity: ConnectionIdentity): string {
  const { credential } = identity;
  if (credential.kind === 'secret') return `t:${identity.peerId}`;
  return `k:${createHash('sha256').update(credential.key.key, 'utf8').digest('base64url')}`;
}
