import { DEV_CREDENTIALS } from '@metered/server';

/** The secret key the demo backend uses against the server's REST API (never sent to a browser). */
export interface SecretKey {
  readonly id: string;
  readonly secret: string;
}

/** The embedded development config's secret key. */
export const DEV_SECRET_KEY: SecretKey = Object.freeze({
  id: DEV_CREDENTIALS.secretKeyId,
  secret: DEV_CREDENTIALS.secretKey,
});

/** What the demo puts in a token: who the peer is and how it is shown to others. */
export interface TokenRequest {
  readonly peerId: string;
  readonly peerMetadata?: Record<string, string> | undefined;
  readonly expiresInSec?: number | undefined;
}

export interface MintedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Raised when the server's REST API answers with an error status. */
export class RestRequestError extends Error {
  override readonly name = 'RestRequestError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `ws://host:port` (the server's URL) → `http://host:port`. */
export function httpOrigin(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

/** A small client of the server's REST control plane, authenticated with a secret key. */
export class RestClient {
  readonly #origin: string;
  readonly #authorization: string;

  constructor(serverUrl: string, key: SecretKey = DEV_SECRET_KEY) {
    this.#origin = httpOrigin(serverUrl);
    this.#authorization = `Bearer ${key.id}:${key.secret}`;
  }

  /** `POST /v1/tokens`: a JWT for one peer id, with its peer metadata. */
  async mintToken(request: TokenRequest, signal?: AbortSignal): Promise<MintedToken> {
    const body = {
      peerId: request.peerId,
      ...(request.peerMetadata && { peerMetadata: request.peerMetadata }),
      ...(request.expiresInSec !== undefined && { expiresInSec: request.expiresInSec }),
    };
    return (await this.#call('POST', '/v1/tokens', body, signal)) as MintedToken;
  }

  /**
   * `DELETE /v1/peers/:peerId`: closes every socket of the peer with 4020; resolves the count.
   * `ttlSeconds` is how long the peer's earlier tokens stay refused (0: only close the sockets;
   * omitted: until they can all have expired).
   */
  async kickPeer(peerId: string, signal?: AbortSignal, ttlSeconds?: number): Promise<number> {
    const query = ttlSeconds === undefined ? '' : `?ttlSeconds=${ttlSeconds}`;
    const answer = (await this.#call(
      'DELETE',
      `/v1/peers/${encodeURIComponent(peerId)}${query}`,
      undefined,
      signal,
    )) as { closed: number };
    return answer.closed;
  }

  async #call(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const response = await fetch(`${this.#origin}${path}`, {
      method,
      headers: {
        authorization: this.#authorization,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      ...(signal && { signal }),
    });
    const answer = (await response.json().catch(() => ({}))) as {
      error?: string;
      message?: string;
    };
    if (!response.ok) {
      throw new RestRequestError(
        response.status,
        answer.error ?? 'http_error',
        `${method} ${path}: ${response.status} ${answer.error ?? ''} ${answer.message ?? ''}`.trim(),
      );
    }
    return answer;
  }
}
