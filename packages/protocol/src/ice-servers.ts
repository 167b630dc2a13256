import type { IceServerConfig } from './frames.js';
import {
  MAX_ICE_SERVER_CREDENTIAL_LENGTH,
  MAX_ICE_SERVER_URL_LENGTH,
  MAX_ICE_SERVERS,
} from './limits.js';

const ICE_URL = /^(?:stuns?|turns?):/i;

function isIceUrl(url: unknown): url is string {
  return (
    typeof url === 'string' &&
    url.length > 0 &&
    url.length <= MAX_ICE_SERVER_URL_LENGTH &&
    ICE_URL.test(url)
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
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
    const { urls, username, credential } = entry as Record<string, unknown>;
    let parsedUrls: string | string[];
    if (isIceUrl(urls)) parsedUrls = urls;
    else if (Array.isArray(urls) && urls.length > 0 && urls.every(isIceUrl)) parsedUrls = [...urls];
    else return null;
    const server: { urls: string | string[]; username?: string; credential?: string } = {
      urls: parsedUrls,
    };
    for (const [key, field] of [
      ['username', username],
      ['credential', credential],
    ] as const) {
      if (typeof field !== 'string') continue;
      if (field.length > MAX_ICE_SERVER_CREDENTIAL_LENGTH) return null;
      server[key] = field;
    }
    servers.push(server);
  }
  return servers;
}
