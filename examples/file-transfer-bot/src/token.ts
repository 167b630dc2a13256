/** A secret key of the server's config: `id` and `secret`. Keep it on your backend. */
export interface SecretKey {
  readonly id: string;
  readonly secret: string;
}

/** What a token allows; see `POST /v1/tokens` in docs/self-hosting.md. */
export interface TokenRequest {
  readonly peerId: string;
  readonly channels?: readonly string[];
  readonly permissions?: readonly ('subscribe' | 'publish' | 'presence' | 'send')[];
  readonly peerMetadata?: Readonly<Record<string, unknown>>;
  readonly expiresInSec?: number;
}

/**
 * Mints a token through the server's REST API. In a real application this runs on your backend,
 * which knows who the user is; the browser or device only ever sees the token.
 */
export async function mintToken(
  serverUrl: string,
  secretKey: SecretKey,
  request: TokenRequest,
  signal?: AbortSignal,
): Promise<string> {
  const response = await fetch(`${serverUrl.replace(/^ws/, 'http')}/v1/tokens`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${secretKey.id}:${secretKey.secret}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(request),
    ...(signal ? { signal } : {}),
  });
  const body = (await response.json()) as { token?: string; error?: string; message?: string };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(
      `POST /v1/tokens: ${response.status} ${body.error ?? ''} ${body.message ?? ''}`,
    );
  }
  return body.token;
}
