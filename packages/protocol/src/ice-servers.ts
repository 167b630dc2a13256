import type { IceServerConfig } from './frames.js';
import {
  MAX_ICE_SERVER_CREDENTIAL_LENGTH,
  MAX_ICE_SERVER_URL_LENGTH,
  MAX_ICE_SERVERS,
} from './limits.js';

function isIceUrl(url: unknown): url is string {
  return (
    typeof url === 'string' &&
    url.length <= MAX_ICE_SERVER_URL_LENGTH &&
    /^(?:stuns?|turns?):/i.test(url)
  );
}

/**
 * Validates an `iceServers` list fail-closed: at most 16 entries, each with `urls` a `stun:`,
 * `stuns:`, `turn:` or `turns:` URL (or a non-empty array of them, each ≤ 512 characters), and
 * string `username` / `credential` of ≤ 1024 characters (non-strings are dropped from the entry).
 * One bad entry rejects the whole list: the result is `null`. Only `urls`, `username` and
 * `credential` are kept.
 */
export function parseIceServers(value: unknown): IceServerConfig[] | null {
  if (!Array.isArray(value) || value.length > MAX_ICE_SERVERS) return null;
  const servers: IceServerConfig[] = [];
  for (const entry of value as unknown[]) {
    // `null`, primitives and arrays have no valid `urls`: they reject the list below.
    const fields = (entry ?? {}) as Record<string, unknown>;
    const { urls } = fields;
    const list: unknown[] = Array.isArray(urls) ? urls : [urls];
    if (list.length === 0 || !list.every(isIceUrl)) return null;
    const server: Record<string, unknown> = { urls: Array.isArray(urls) ? [...list] : urls };
    for (const key of ['username', 'credential']) {
      const field = fields[key];
      if (typeof field !== 'string') continue;
      if (field.length > MAX_ICE_SERVER_CREDENTIAL_LENGTH) return null;
      server[key] = field;
    }
    servers.push(server as unknown as IceServerConfig);
  }
  return servers;
}
