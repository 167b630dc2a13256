// The REST API: the route table and every handler next to each other, so a route is read beside
// the others (hence its length); the history route's query and body live in history/rest-history.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { WsCloseCode } from '@metered/errors';
import {
  PERMISSIONS,
  PROTOCOL_LIMITS,
  isValidPeerId,
  payloadSize,
  utf8ByteLength,
  validateChannelName,
  type JsonObject,
  type Permission,
} from '@metered/protocol';
import type { Logger } from 'pino';
import type { AppRegistry } from './app-registry.js';
import { authenticateSecretKey, isPlainObject, signToken } from './auth.js';
import type { Broker } from './broker/broker.js';
import { ChannelScope } from './channel-scope.js';
import type { AppConfig, SecretKeyConfig } from './config.js';
import type { ExtensionsConfig } from './extensions-config.js';
import { historyPolicy } from './history/history-config.js';
import { DUPLICATE } from './history/history-types.js';
import { historyBody, parseHistoryQuery, parseIdempotencyKey } from './history/rest-history.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { periodStartOf } from './message-quota.js';
import type { ServerMetrics } from './metrics.js';
import type { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';
import { kickRevocation, maxKickSeconds } from './revocation.js';

/** Largest REST request body, in bytes (larger → 413). */
export const MAX_REST_BODY_BYTES = 32 * 1024;
/** Default and largest lifetime of a token minted over REST, in seconds. */
export const TOKEN_LIFETIME = Object.freeze({ defaultSeconds: 3600, maxSeconds: 86_400 });
/** The `from` of a server-side publish that names none. */
export const DEFAULT_REST_PUBLISHER = 'system';

export type RestErrorCode =
  | 'invalid_request'
  | 'channel_reserved'
  | 'unauthorized'
  | 'channel_not_authorized'
  | 'action_not_permitted'
  | 'not_found'
  | 'over_message_quota';

export interface RestContext {
  readonly registry: () => AppRegistry;
  readonly broker: Broker;
  readonly now: () => number;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Each app's publish bandwidth on this node. */
  readonly publishBandwidth: PublishBandwidthLimiter;
  /** The protocol extensions the server offers. */
  readonly extensions: ExtensionsConfig;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: RestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

/** Reads the body; over 32 KiB it is drained and refused with 413 (dropped past 1 MiB). */
function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= MAX_REST_BODY_BYTES) chunks.push(chunk);
      else if (size > 32 * MAX_REST_BODY_BYTES) request.destroy();
    });
    request.on('end', () => {
      if (size > MAX_REST_BODY_BYTES) {
        reject(new RestError(413, 'invalid_request', 'request body exceeds 32 KiB'));
      } else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(request);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RestError(400, 'invalid_request', 'body is not valid JSON');
  }
  if (!isPlainObject(value))
    throw new RestError(400, 'invalid_request', 'body must be a JSON object');
  return value;
}

function requireAction(key: SecretKeyConfig, action: Permission): void {
  if (!key.actions.includes(action)) {
    throw new RestError(403, 'action_not_permitted', `the key does not grant ${action}`);
  }
}

/**
 * A kick reaches a peer whatever its channels and permissions, so only a key that could have
 * granted all of them may kick: every action, and patterns that cover every channel.
 */
function requireWholeApp(key: SecretKeyConfig): void {
  for (const action of PERMISSIONS) requireAction(key, action);
  if (!new ChannelScope(key.channelPatterns).covers('**')) {
    throw new RestError(
      403,
      'channel_not_authorized',
      'kicking a peer needs a key whose channelPatterns cover every channel (**)',
    );
  }
}

function checkChannel(key: SecretKeyConfig, channel: string): void {
  const problem = validateChannelName(channel);
  if (problem === 'channel_reserved') {
    throw new RestError(400, 'channel_reserved', 'channel uses a reserved prefix');
  }
  if (problem) throw new RestError(400, 'invalid_request', 'invalid channel name');
  if (!new ChannelScope(key.channelPatterns).allows(channel)) {
    throw new RestError(403, 'channel_not_authorized', 'channel outside the key channelPatterns');
  }
}

function optionalObject(
  body: Record<string, unknown>,
  field: string,
  maxBytes: number,
): JsonObject | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (!isPlainObject(value))
    throw new RestError(400, 'invalid_request', `${field} must be an object`);
  if (nestsDeeperThan(value)) {
    throw new RestError(
      400,
      'invalid_request',
      `${field} nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  if (utf8ByteLength(JSON.stringify(value)) > maxBytes) {
    throw new RestError(400, 'invalid_request', `${field} exceeds ${maxBytes} bytes`);
  }
  return value;
}

async function mintToken(
  context: RestContext,
  app: AppConfig,
  key: SecretKeyConfig,
  request: IncomingMessage,
): Promise<unknown> {
  const body = await readJsonObject(request);
  const { peerId, channels, permissions, expiresInSec } = body;
  if (!isValidPeerId(peerId)) {
    throw new RestError(400, 'invalid_request', 'peerId must be 1-128 printable ASCII characters');
  }
  let tokenChannels: readonly string[] = key.channelPatterns;
  if (channels !== undefined) {
    if (
      !Array.isArray(channels) ||
      channels.length > 100 ||
      !channels.every(
        (channel) =>
          typeof channel === 'string' &&
          channel.length > 0 &&
          utf8ByteLength(channel) <= PROTOCOL_LIMITS.maxChannelNameBytes,
      )
    ) {
      throw new RestError(400, 'invalid_request', 'channels must be at most 100 channel names');
    }
    const keyScope = new ChannelScope(key.channelPatterns);
    for (const channel of channels as string[]) {
      const problem = validateChannelName(channel);
      if (problem === 'channel_reserved') {
        throw new RestError(400, 'channel_reserved', `channel ${channel} uses a reserved prefix`);
      }
      if (problem) throw new RestError(400, 'invalid_request', 'invalid channel name');
      if (!keyScope.covers(channel)) {
        throw new RestError(
          403,
          'channel_not_authorized',
          'channel outside the key channelPatterns',
        );
      }
    }
    tokenChannels = channels as string[];
  }
  let tokenPermissions: readonly Permission[] = key.actions;
  if (permissions !== undefined) {
    if (
      !Array.isArray(permissions) ||
      permissions.length > 16 ||
      !permissions.every((permission) => (PERMISSIONS as readonly unknown[]).includes(permission))
    ) {
      throw new RestError(
        400,
        'invalid_request',
        `permissions must be among ${PERMISSIONS.join(', ')}`,
      );
    }
    for (const permission of permissions as Permission[]) requireAction(key, permission);
    tokenPermissions = [...new Set(permissions as Permission[])];
  }
  const maxLifetime = Math.min(TOKEN_LIFETIME.maxSeconds, app.tokens.maxLifetimeSeconds);
  let lifetime = Math.min(TOKEN_LIFETIME.defaultSeconds, maxLifetime);
  if (expiresInSec !== undefined) {
    if (
      typeof expiresInSec !== 'number' ||
      !Number.isInteger(expiresInSec) ||
      expiresInSec < 1 ||
      expiresInSec > maxLifetime
    ) {
      throw new RestError(
        400,
        'invalid_request',
        `expiresInSec must be an integer from 1 to ${maxLifetime}`,
      );
    }
    lifetime = expiresInSec;
  }
  const metadata = optionalObject(body, 'metadata', PROTOCOL_LIMITS.maxMetadataBytes);
  const peerMetadata = optionalObject(body, 'peerMetadata', PROTOCOL_LIMITS.maxPeerMetadataBytes);
  const issuedAt = Math.floor(context.now() / 1000);
  const expiresAt = issuedAt + lifetime;
  const token = await signToken(key, {
    peerId,
    channels: tokenChannels,
    permissions: tokenPermissions,
    expiresAt,
    issuedAt,
    metadata,
    peerMetadata,
  });
  return { token, expiresAt };
}

async function publish(
  context: RestContext,
  app: AppConfig,
  key: SecretKeyConfig,
  channel: string,
  request: IncomingMessage,
): Promise<unknown> {
  requireAction(key, 'publish');
  checkChannel(key, channel);
  const body = await readJsonObject(request);
  if (!('data' in body) || body.data === undefined) {
    throw new RestError(400, 'invalid_request', 'data is required');
  }
  if (nestsDeeperThan(body.data)) {
    throw new RestError(400, 'invalid_request', `data nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const from = body.from ?? DEFAULT_REST_PUBLISHER;
  if (!isValidPeerId(from))
    throw new RestError(400, 'invalid_request', 'from must be a valid peer id');
  const peerMetadata = optionalObject(body, 'peerMetadata', PROTOCOL_LIMITS.maxPeerMetadataBytes);
  const limit = app.limits.maxPublishBytesPerSecond;
  if (
    limit !== undefined &&
    !context.publishBandwidth.tryPublish(app.id, payloadSize(body.data), limit)
  ) {
    throw new RestError(
      429,
      'over_message_quota',
      `app publish bandwidth exhausted (${limit} bytes per second)`,
    );
  }
  const retryKey = context.extensions.idempotency
    ? parseIdempotencyKey(request.headers['idempotency-key'], body.idempotencyKey)
    : undefined;
  if (retryKey instanceof Error) throw new RestError(400, 'invalid_request', retryKey.message);
  const delivered = await context.broker.publish(app.id, {
    channel,
    from,
    data: body.data,
    fromMetadata: peerMetadata,
    history: context.extensions.recovery ? historyPolicy(app.history, channel) : undefined,
    idempotency:
      retryKey === undefined ? undefined : { key: retryKey, windowMs: app.idempotency.windowMs },
  });
  return delivered === DUPLICATE
    ? { channel, delivered: 0, duplicate: true }
    : { channel, delivered };
}

async function channelHistory(
  context: RestContext,
  app: AppConfig,
  key: SecretKeyConfig,
  channel: string,
  url: URL,
): Promise<unknown> {
  requireAction(key, 'subscribe');
  checkChannel(key, channel);
  const query = parseHistoryQuery(url.searchParams);
  if (typeof query === 'string') throw new RestError(400, 'invalid_request', query);
  const policy = historyPolicy(app.history, channel);
  if (policy === undefined || context.broker.history === undefined) {
    throw new RestError(404, 'not_found', 'the channel keeps no history');
  }
  return historyBody(
    await context.broker.history(app.id, channel, policy, query.since, query.limit),
  );
}

async function usage(context: RestContext, app: AppConfig): Promise<unknown> {
  const periodStart = periodStartOf(context.now(), app.plan.periodSeconds);
  const current = await context.broker.usage(app.id, periodStart);
  return {
    appId: app.id,
    periodStartUnix: periodStart,
    periodEndUnix: periodStart + app.plan.periodSeconds,
    concurrentNow: current.concurrentNow,
    peakConcurrent: current.peakConcurrent,
    messagesUsed: current.messagesUsed,
    overageMessages: 0,
    overageConnections: 0,
    plan: {
      name: 'self-hosted',
      maxConcurrentConnections: app.plan.maxConcurrentConnections,
      maxMessagesPerPeriod: app.plan.maxMessagesPerPeriod,
      overagesAllowed: false,
      overagesEnabled: false,
    },
  };
}

type Route =
  | { readonly name: 'tokens' }
  | { readonly name: 'channel-peers'; readonly channel: string }
  | { readonly name: 'channel-publish'; readonly channel: string }
  | { readonly name: 'channel-history'; readonly channel: string }
  | { readonly name: 'peer'; readonly peerId: string }
  | { readonly name: 'usage' };

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RestError(400, 'invalid_request', 'malformed URL encoding');
  }
}

function route(method: string, pathname: string): Route | undefined {
  const segments = pathname.split('/').slice(1);
  if (segments[0] !== 'v1') return undefined;
  const [, first, second, third, ...rest] = segments;
  if (rest.length > 0) return undefined;
  if (method === 'POST' && first === 'tokens' && second === undefined) return { name: 'tokens' };
  if (method === 'GET' && first === 'usage' && second === undefined) return { name: 'usage' };
  if (method === 'DELETE' && first === 'peers' && second && third === undefined) {
    return { name: 'peer', peerId: decodeSegment(second) };
  }
  if (first === 'channels' && second) {
    if (method === 'GET' && third === 'peers') {
      return { name: 'channel-peers', channel: decodeSegment(second) };
    }
    if (method === 'POST' && third === 'publish') {
      return { name: 'channel-publish', channel: decodeSegment(second) };
    }
    if (method === 'GET' && third === 'history') {
      return { name: 'channel-history', channel: decodeSegment(second) };
    }
  }
  return undefined;
}

/**
 * How long a kick keeps the peer's earlier tokens out: `?ttlSeconds=` (0 = only close the
 * sockets), by default until every such token can have expired.
 */
function kickSeconds(app: AppConfig, text: string | null): number | undefined {
  if (text === null) return undefined;
  const max = maxKickSeconds(app);
  const seconds = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(seconds <= max)) {
    throw new RestError(400, 'invalid_request', `ttlSeconds must be an integer from 0 to ${max}`);
  }
  return seconds;
}

/** Serves one REST request under `/v1`. Never throws; every failure is a JSON error body. */
export async function handleRestRequest(
  context: RestContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const pathname = url.pathname;
  let routeName = 'unknown';
  let status = 200;
  try {
    const matched = route(request.method ?? 'GET', pathname);
    if (!matched) throw new RestError(404, 'not_found', 'no such endpoint');
    routeName = matched.name;
    const found = authenticateSecretKey(context.registry(), request.headers.authorization);
    if (!found) throw new RestError(401, 'unauthorized', 'missing or invalid secret key');
    const { app, key } = found;
    let body: unknown;
    switch (matched.name) {
      case 'tokens':
        body = await mintToken(context, app, key, request);
        break;
      case 'channel-peers':
        requireAction(key, 'presence');
        checkChannel(key, matched.channel);
        body = {
          channel: matched.channel,
          peers: await context.broker.members(app.id, matched.channel),
        };
        break;
      case 'channel-publish':
        body = await publish(context, app, key, matched.channel, request);
        break;
      case 'channel-history':
        if (!context.extensions.recovery) throw new RestError(404, 'not_found', 'no such endpoint');
        body = await channelHistory(context, app, key, matched.channel, url);
        break;
      case 'peer': {
        requireWholeApp(key);
        if (!isValidPeerId(matched.peerId)) {
          throw new RestError(400, 'invalid_request', 'invalid peer id');
        }
        const ttlSeconds = kickSeconds(app, url.searchParams.get('ttlSeconds'));
        if (ttlSeconds !== 0) {
          // Recorded before the close, so that a reconnect racing it is already refused.
          const now = context.now();
          await context.broker.revokePeerTokens(
            app.id,
            matched.peerId,
            kickRevocation(app, now, ttlSeconds),
            now,
          );
        }
        const closed = await context.broker.closePeer(
          app.id,
          matched.peerId,
          WsCloseCode.ADMIN_DISCONNECT,
          'disconnected by the REST API',
        );
        body = { peerId: matched.peerId, closed };
        break;
      }
      case 'usage':
        body = await usage(context, app);
        break;
    }
    sendJson(response, status, body);
  } catch (error) {
    if (error instanceof RestError) {
      status = error.status;
      sendJson(response, status, { error: error.code, message: error.message });
    } else {
      status = 500;
      context.logger.error({ err: error }, 'REST request failed');
      sendJson(response, 500, { error: 'internal_error', message: 'internal error' });
    }
  } finally {
    context.metrics.restRequestsTotal.inc({ route: routeName, status: String(status) });
  }
}
