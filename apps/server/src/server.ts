// The server's composition root, over 450 lines because it is the wiring: the HTTP listener, the
// upgrade path and its limits, the context every connection shares, reload and the graceful
// shutdown. Each concept it wires lives in a file of its own.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WsCloseCode } from '@metered/errors';
import { PROTOCOL_LIMITS } from '@metered/protocol';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppRegistry } from './app-registry.js';
import { addressGroup, clientAddress } from './client-address.js';
import { appOfCredential, authenticateConnection } from './auth.js';
import { isPromise, type Broker } from './broker/broker.js';
import {
  BROKER_UNAVAILABLE_CLOSE_CODE,
  BrokerUnavailableError,
} from './broker/broker-unavailable.js';
import {
  DEFAULT_CONFIG,
  parseConfig,
  type ServerConfig,
  type ServerConfigInput,
} from './config.js';
import { Connection, type ConnectionContext } from './connection.js';
import { loggableUrl, silentLogger } from './logger.js';
import { MemoryBroker } from './broker/memory/memory-broker.js';
import { RedisBroker } from './broker/redis/redis-broker.js';
import { ServerMetrics } from './metrics.js';
import { ConnectAttemptLimiter } from './connect-attempt-limiter.js';
import { PublishBandwidthLimiter } from './publish-bandwidth-limiter.js';
import { InFlightRequests } from './in-flight-requests.js';
import { OutboundMemoryCap } from './outbound-memory-cap.js';
import { ADMISSION_REFUSALS, UpgradeAdmission } from './upgrade-admission.js';
import { handleRestRequest, type RestContext } from './rest-api.js';
import { credentialInForce, revokedBy } from './revocation.js';

/** Hooks for embedding and tests; none of them belongs in the config file. */
export interface ServerHooks {
  /** The clock (epoch ms) for token expiry, rate buckets and quota periods. Default `Date.now`. */
  readonly now?: () => number;
  /** Structured logger. Default: silent. */
  readonly logger?: Logger;
  /** A broker implementation to use instead of the one `broker.kind` names. */
  readonly brokerImplementation?: Broker;
  /**
   * `retryAfterMs` of the `going_away` frame sent on shutdown, and how long the server keeps
   * serving after it (clients move meanwhile) before it closes the remaining sockets. Default 1000.
   */
  readonly shutdownRetryAfterMs?: number;
  /**
   * How long `close()` waits, after the `retryAfterMs` grace, for sockets to answer what they
   * received and finish their closing handshake, and for REST requests to be answered. Default 5000.
   */
  readonly drainTimeoutMs?: number;
  /** Bound of each socket's outbound buffer in bytes; a socket over it is closed. Default 4 MiB. */
  readonly maxOutboundBufferBytes?: number;
  /**
   * Interval of WebSocket-level pings; a socket that has not answered the previous one (nor sent
   * anything) is dropped. Default 30000; 0 disables.
   */
  readonly heartbeatIntervalMs?: number;
  /** REST requests per client address (an IPv6 address by its /64) per minute; over it → 429. Default 600. */
  readonly restRequestsPerMinute?: number;
}

/** A configuration object (the config file's shape, `apps` defaulting to the embedded dev app) plus hooks. */
export type StartServerOptions = Partial<ServerConfigInput> & ServerHooks;

export interface RunningServer {
  /** `ws://host:port`, the origin clients connect to (they append `/v1`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: ServerMetrics;
  /** The configuration in force. */
  readonly config: ServerConfig;
  /**
   * Applies a new configuration without dropping sockets: apps, keys and limits are replaced;
   * sockets of suspended (or removed) apps are closed with 4012. Throws `ConfigError`.
   */
  reload(config: ServerConfigInput): void;
  /**
   * Graceful: stops accepting, sends `going_away {retryAfterMs}` to every socket and serves for
   * `retryAfterMs`, then answers every frame and REST request received and closes 1001.
   * Resolves once drained. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export const SERVER_DEFAULTS = Object.freeze({
  shutdownRetryAfterMs: 1000,
  drainTimeoutMs: 5000,
  maxOutboundBufferBytes: 4 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  restRequestsPerMinute: 600,
});

const HOOK_KEYS = [
  'now',
  'logger',
  'brokerImplementation',
  'shutdownRetryAfterMs',
  'drainTimeoutMs',
  'maxOutboundBufferBytes',
  'heartbeatIntervalMs',
  'restRequestsPerMinute',
] as const;

function splitOptions(options: StartServerOptions): { config: unknown; hooks: ServerHooks } {
  const config: Record<string, unknown> = { ...options };
  const hooks: Record<string, unknown> = {};
  for (const key of HOOK_KEYS) {
    if (key in config) hooks[key] = config[key];
    delete config[key];
  }
  if (config.apps === undefined) config.apps = DEFAULT_CONFIG.apps;
  return { config, hooks: hooks };
}

function largestMessageSize(config: ServerConfig): number {
  return Math.max(...config.apps.map((app) => app.limits.maxMessageSize));
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  statusText: string,
  headers: Record<string, string> = {},
): void {
  const lines = [
    `HTTP/1.1 ${status} ${statusText}`,
    'Connection: close',
    'Content-Length: 0',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n`);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the server: WebSocket endpoint `/v1`, REST under `/v1/…`, `/healthz` and `/metrics`. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const { config: configInput, hooks } = splitOptions(options);
  let config = parseConfig(configInput);
  const now = hooks.now ?? Date.now;
  const logger = hooks.logger ?? silentLogger();
  const metrics = new ServerMetrics();
  const brokerConfig = config.broker;
  const broker: Broker =
    hooks.brokerImplementation ??
    (brokerConfig.kind === 'redis'
      ? new RedisBroker({
          url: brokerConfig.url,
          keyPrefix: brokerConfig.keyPrefix,
          leaseMs: brokerConfig.leaseMs,
          ...(brokerConfig.busShards !== undefined && { busShards: brokerConfig.busShards }),
          ...(brokerConfig.busCatchUpMs !== undefined && {
            busCatchUpMs: brokerConfig.busCatchUpMs,
          }),
          ...(brokerConfig.busCatchUpBytes !== undefined && {
            busCatchUpBytes: brokerConfig.busCatchUpBytes,
          }),
          logger,
        })
      : new MemoryBroker({ now }));
  const ownsBroker = hooks.brokerImplementation === undefined;
  let registry = new AppRegistry(config);
  const limiter = new ConnectAttemptLimiter(now);
  const restLimiter = new ConnectAttemptLimiter(now);
  const restRequestsPerMinute =
    hooks.restRequestsPerMinute ?? SERVER_DEFAULTS.restRequestsPerMinute;
  const connections = new Set<Connection>();
  let closing = false;
  let closePromise: Promise<void> | undefined;
  let drained: (() => void) | undefined;

  const restRequests = new InFlightRequests();
  const publishBandwidth = new PublishBandwidthLimiter(now);
  const outboundMemory = new OutboundMemoryCap(() => config.connections.maxOutboundBytes);
  const admission = new UpgradeAdmission(
    () => config.connections,
    (group) => {
      logger.info({ address: group }, 'upgrade not welcomed in time: socket destroyed');
      metrics.connectsTotal.inc({ outcome: 'timeout' });
    },
  );
  /** The TCP stream each connection was upgraded from, for {@link admission}. */
  const transports = new WeakMap<Connection, Duplex>();
  const connectionContext: ConnectionContext = {
    broker,
    publishBandwidth,
    metrics,
    logger,
    now,
    app: (appId) => registry.app(appId),
    maxOutboundBufferBytes: hooks.maxOutboundBufferBytes ?? SERVER_DEFAULTS.maxOutboundBufferBytes,
    connectionLimits: () => config.connections,
    outboundMemory,
    onWelcomed: (connection) => {
      const transport = transports.get(connection);
      if (transport !== undefined) admission.welcomed(transport);
    },
    onClosed: (connection) => {
      connections.delete(connection);
      if (connections.size === 0) drained?.();
    },
    registry: () => registry,
    settings: () => config,
  };
  const restContext: RestContext = {
    registry: () => registry,
    broker,
    now,
    metrics,
    logger,
    publishBandwidth,
    extensions: config.extensions,
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: largestMessageSize(config),
    perMessageDeflate: false,
    clientTracking: false,
  });

  const accept = (
    socket: WebSocket,
    transport: Duplex,
    request: IncomingMessage,
    url: URL,
  ): void => {
    const connection = new Connection(socket, connectionContext, transport);
    transports.set(connection, transport);
    connections.add(connection);
    const origin = request.headers.origin;
    authenticateConnection(registry, { parameters: url.searchParams, origin }, now())
      .then(async (result) => {
        if (!result.ok) {
          logger.info({ code: result.closeCode, reason: result.reason }, 'connect refused');
          connection.close(result.closeCode, result.reason);
          return;
        }
        const { identity } = result;
        if (identity.via === 'token') {
          const revocation = await broker.peerRevocation(identity.app.id, identity.peerId, now());
          if (revokedBy(revocation, identity)) {
            logger.info({ code: WsCloseCode.ADMIN_DISCONNECT }, 'connect refused: peer kicked');
            connection.close(WsCloseCode.ADMIN_DISCONNECT, 'peer disconnected by the REST API');
            return;
          }
        }
        // A reload may have removed the key while the token was being verified.
        if (!credentialInForce(registry, identity)) {
          connection.close(WsCloseCode.INVALID_TOKEN, 'key removed');
          return;
        }
        // Extension `resume`: a credential that is not valid just starts a fresh session.
        return connection.establish(identity, url.searchParams.get('resume') ?? undefined);
      })
      .catch((error: unknown) => {
        if (error instanceof BrokerUnavailableError) {
          logger.warn({ err: error }, 'connect refused: broker unavailable');
          connection.close(BROKER_UNAVAILABLE_CLOSE_CODE, 'broker unavailable, try again later');
          return;
        }
        logger.error({ err: error }, 'connect failed');
        connection.close(1011, 'internal error');
      });
  };

  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/healthz' && request.method === 'GET') {
      const brokerReady = broker.isReady?.() ?? true;
      const status = closing ? 'shutting_down' : brokerReady ? 'ok' : 'broker_unavailable';
      json(status === 'ok' ? 200 : 503, { status });
      return;
    }
    if (url.pathname === '/metrics' && request.method === 'GET') {
      metrics.render().then(
        (text) => {
          response.writeHead(200, { 'content-type': metrics.contentType });
          response.end(text);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'metrics failed');
          json(500, { error: 'internal_error', message: 'metrics failed' });
        },
      );
      return;
    }
    if (url.pathname === '/v1') {
      json(426, { error: 'invalid_request', message: 'this endpoint needs a WebSocket upgrade' });
      return;
    }
    if (url.pathname.startsWith('/v1/')) {
      const address = clientAddress(request, config.trustedProxyHops);
      if (!restLimiter.tryAttempt(addressGroup(address), restRequestsPerMinute)) {
        metrics.restRequestsTotal.inc({ route: 'rate-limited', status: '429' });
        response.setHeader(
          'retry-after',
          String(restLimiter.retryAfterSeconds(restRequestsPerMinute)),
        );
        json(429, { error: 'rate_limited', message: 'too many requests' });
        request.resume();
        return;
      }
      restRequests.track(response);
      void handleRestRequest(restContext, request, response, url);
      return;
    }
    json(404, { error: 'not_found', message: 'no such endpoint' });
  };

  // Slow headers (slowloris) are cut by Node's own timer, checked every half of the timeout. It is
  // fixed when the server starts: a reload does not change it.
  const headersTimeout = config.httpHeadersTimeoutMs;
  const httpServer = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, 30_000),
      connectionsCheckingInterval: Math.min(headersTimeout / 2, 15_000),
    },
    onRequest,
  );
  // One listener for every socket: a closure made in the upgrade handler would keep that
  // handler's scope (the request, its headers, the URL) alive as long as the socket.
  const onUpgradeSocketError = (error: Error): void => {
    logger.debug({ err: error }, 'upgrade socket error');
  };
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onUpgradeSocketError);
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1') {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (closing) {
      rejectUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    const app = appOfCredential(registry, url.searchParams);
    const limit =
      app?.limits.connectAttemptsPerIpPerMinute ?? PROTOCOL_LIMITS.connectAttemptsPerIpPerMinute;
    const address = clientAddress(request, config.trustedProxyHops);
    if (!limiter.tryAttempt(`${app?.id ?? ''}\u0000${addressGroup(address)}`, limit)) {
      logger.info({ address, url: loggableUrl(request.url) }, 'connect rate limited');
      metrics.connectsTotal.inc({ outcome: '429' });
      rejectUpgrade(socket, 429, 'Too Many Requests', {
        'Retry-After': String(limiter.retryAfterSeconds(limit)),
      });
      return;
    }
    const refusal = admission.admit(addressGroup(address), socket);
    if (refusal !== undefined) {
      const { status, text, log, retryAfterSeconds } = ADMISSION_REFUSALS[refusal];
      logger.info({ address, url: loggableUrl(request.url) }, log);
      metrics.connectsTotal.inc({ outcome: String(status) });
      rejectUpgrade(socket, status, text, {
        'Retry-After': String(retryAfterSeconds(config.connections)),
      });
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, socket, request, url));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      httpServer.once('error', onError);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', onError);
        resolve();
      });
    });
  } catch (error) {
    if (ownsBroker) await broker.close();
    throw error;
  }
  const address = httpServer.address() as AddressInfo;
  const host = config.host;
  const port = address.port;
  const url = `ws://${formatHost(host)}:${port}`;
  logger.info({ url }, 'listening');
  // Give Redis a moment so that the first clients are not refused; the server serves either way.
  if (broker instanceof RedisBroker && !(await broker.waitUntilReady(5_000))) {
    logger.warn('Redis is not reachable yet: connections are refused with 1013 until it is');
  }

  const heartbeatIntervalMs = hooks.heartbeatIntervalMs ?? SERVER_DEFAULTS.heartbeatIntervalMs;
  const heartbeatTimer =
    heartbeatIntervalMs > 0
      ? setInterval(() => {
          for (const connection of [...connections]) connection.heartbeat();
        }, heartbeatIntervalMs)
      : undefined;

  const closeApp = (appId: string, reason: string): void => {
    const result = broker.closeApp(appId, WsCloseCode.ACCOUNT_SUSPENDED, reason);
    if (isPromise(result))
      result.catch((error: unknown) => logger.error({ err: error }, 'closeApp failed'));
  };

  /** Resolves after `ms`, or at once when `done` settles first; the timer never outlives it. */
  const within = async (done: Promise<void>, ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const elapsed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([done, elapsed]);
    clearTimeout(timer);
  };

  const close = (): Promise<void> => {
    closePromise ??= (async () => {
      // 1. Stop accepting: the listener closes, upgrades get 503, idle keep-alive sockets go.
      closing = true;
      clearInterval(heartbeatTimer);
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      const allDrained = new Promise<void>((resolve) => {
        drained = resolve;
        if (connections.size === 0) resolve();
      });
      const drainTimeoutMs = hooks.drainTimeoutMs ?? SERVER_DEFAULTS.drainTimeoutMs;
      const retryAfterMs = hooks.shutdownRetryAfterMs ?? SERVER_DEFAULTS.shutdownRetryAfterMs;
      // 2. Tell every socket before closing any, so no member hears another one leave first, and
      //    keep serving for `retryAfterMs`: clients move to another node meanwhile.
      for (const connection of [...connections]) connection.announceGoingAway(retryAfterMs);
      await within(allDrained, retryAfterMs);
      // 3. Stop reading, answer every frame received, then close 1001; REST requests finish.
      const finished = Promise.all(
        [...connections].map((connection) =>
          connection.finishAndClose(WsCloseCode.GOING_AWAY, 'server shutting down'),
        ),
      );
      await within(
        Promise.all([finished, allDrained, restRequests.idle()]).then(() => undefined),
        drainTimeoutMs,
      );
      if (connections.size > 0) {
        for (const connection of [...connections]) connection.terminate();
        await allDrained;
      }
      httpServer.closeAllConnections();
      await httpClosed;
      admission.dispose();
      outboundMemory.dispose();
      wss.close();
      if (ownsBroker) await broker.close();
      logger.info('closed');
    })();
    return closePromise;
  };

  return {
    url,
    host,
    port,
    metrics,
    get config() {
      return config;
    },
    reload(input: ServerConfigInput) {
      const next = parseConfig(input);
      const previous = registry;
      config = next;
      registry = new AppRegistry(next);
      wss.options.maxPayload = largestMessageSize(next);
      for (const app of next.apps) {
        if (app.suspended) closeApp(app.id, 'app suspended');
      }
      for (const appId of previous.apps.keys()) {
        if (!registry.app(appId)) closeApp(appId, 'app removed');
      }
      // Keys are configured per node: each node closes its own sockets of a removed key. Sockets
      // of a removed or suspended app are closed above, with 4012.
      for (const connection of connections) {
        const identity = connection.authenticatedAs;
        if (identity === undefined) continue;
        const app = registry.app(identity.app.id);
        if (app === undefined || app.suspended) continue;
        if (!credentialInForce(registry, identity)) {
          connection.close(WsCloseCode.INVALID_TOKEN, 'key removed');
        }
      }
      logger.info({ apps: next.apps.length }, 'configuration reloaded');
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
