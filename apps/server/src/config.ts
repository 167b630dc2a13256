import { PERMISSIONS } from '@metered/protocol';
import { z } from 'zod';
import { appSchema } from './app-config.js';
import { extensionsSchema } from './extensions-config.js';
import { connectionsSchema } from './connections-config.js';

// The configuration file's shape, validated with zod. Every field but `apps` has a default, so a
// minimal file names only its apps; with no file at all the server runs on DEFAULT_CONFIG. One
// app's part is in app-config.ts.

export { MAX_CONFIGURABLE_MESSAGE_SIZE } from './app-config.js';

const brokerSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('memory') })
    .strict()
    .describe('One process, no dependency: everything in memory.'),
  z
    .object({
      kind: z.literal('redis'),
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379')
        .describe('`redis://` or `rediss://` (TLS), with `user:password@` and `/db` if needed.'),
      /** Prefix of every key and pub/sub channel, so several clusters can share one Redis. */
      keyPrefix: z
        .string()
        .min(1)
        .default('metered')
        .describe(
          'Prefix of every key and pub/sub channel, so several clusters can share one Redis.',
        ),
      /** A node that has not renewed its lease for this long is dead: its members leave. */
      leaseMs: z
        .number()
        .int()
        .min(300)
        .max(300_000)
        .default(15_000)
        .describe(
          'A node that has not renewed its lease for this long is dead: the other nodes remove its members (they hear `left`). Renewed every third of it.',
        ),
      busShards: z
        .number()
        .int()
        .min(1)
        .max(64)
        .optional()
        .describe(
          "Shards of the Redis bus (default 4), each app's events on one, each read by every node on a connection of its own: when Redis drops one (an app flooding the bus overflowed it), only that shard's apps are affected, and once it is read again the node catches up (`busCatchUpMs`). Must be the same on every node; 1 uses the pub/sub channels of earlier versions.",
        ),
      busCatchUpMs: z
        .number()
        .int()
        .min(100)
        .max(300_000)
        .optional()
        .describe(
          "Longest a bus shard whose connection Redis dropped may take to be read again and caught up (default 10000): the node then delivers the messages its subscribers missed from the channels' history and the presence changes from the rosters, and closes with 1013 only the sockets it cannot make whole (subscribers of channels without history or whose missed messages are no longer kept, sockets of an app that missed a direct, a kick or an app-wide close). Past it, every socket of the shard's apps is closed with 1013.",
        ),
      busCatchUpBytes: z
        .number()
        .int()
        .min(65_536)
        .optional()
        .describe(
          'Bound of one shard catch-up (default 16 MiB): of the bus events buffered while it runs (their length in characters; past it, the shard is given up as past `busCatchUpMs`), and of the rosters and missed messages read back from Redis (bytes; the channels past it are closed with 1013).',
        ),
    })
    .strict()
    .describe('Several nodes sharing one Redis (6 or later, not Redis Cluster).'),
]);

const resumeSchema = z
  .object({
    windowMs: z
      .number()
      .int()
      .min(1_000)
      .max(300_000)
      .default(15_000)
      .describe(
        'How long a session that negotiated resume is held after an abnormal close (its members see no `left` meanwhile), and how long its resume credential is valid.',
      ),
    maxHeldDirects: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(256)
      .describe(
        "Directs kept for a held session. Once full, the session's peer id takes no more directs while held: senders get `peer_not_found` (unless another socket of that peer id is online).",
      ),
  })
  .strict()
  .describe('Settings of the `resume` extension.');

export const serverConfigSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe(
        'Address to listen on; `0.0.0.0` (or `::`) for every interface. `--host` overrides it.',
      ),
    port: z
      .number()
      .int()
      .min(0)
      .max(65_535)
      .default(9292)
      .describe(
        'Port for WebSocket clients, the REST API, `/healthz` and `/metrics`; 0 picks a free one. `--port` overrides it.',
      ),
    httpHeadersTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(300_000)
      .default(10_000)
      .describe(
        'Longest time a client may take to send the headers of a request or WebSocket upgrade (slowloris); a slower one gets HTTP 408 and is disconnected. Checked every half of it, at most every 15 s. Read at start: a reload does not change it.',
      ),
    trustedProxyHops: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(0)
      .describe(
        "Reverse proxies in front of the server that append to `X-Forwarded-For`. 0: per-address limits count the socket's peer. N: they count the Nth address from the right of that header, the one your outermost proxy saw; entries a client wrote itself are never believed.",
      ),
    extensions: extensionsSchema.default({}),
    resume: resumeSchema.default({}),
    connections: connectionsSchema.default({}),
    broker: brokerSchema
      .default({ kind: 'memory' })
      .describe('Where channels, presence and counters live: this process, or Redis.'),
    apps: z
      .array(appSchema)
      .min(1, 'at least one app is required')
      .describe('The applications this server hosts (at least one).'),
  })
  .strict()
  .superRefine((config, context) => {
    const appIds = new Set<string>();
    const publishableKeys = new Set<string>();
    const secretKeyIds = new Set<string>();
    config.apps.forEach((app, appIndex) => {
      if (appIds.has(app.id)) {
        context.addIssue({
          code: 'custom',
          path: ['apps', appIndex, 'id'],
          message: `duplicate app id "${app.id}"`,
        });
      }
      appIds.add(app.id);
      app.publishableKeys.forEach((key, keyIndex) => {
        if (publishableKeys.has(key.key)) {
          context.addIssue({
            code: 'custom',
            path: ['apps', appIndex, 'publishableKeys', keyIndex, 'key'],
            message: 'duplicate publishable key',
          });
        }
        publishableKeys.add(key.key);
      });
      app.secretKeys.forEach((key, keyIndex) => {
        if (secretKeyIds.has(key.id)) {
          context.addIssue({
            code: 'custom',
            path: ['apps', appIndex, 'secretKeys', keyIndex, 'id'],
            message: `duplicate secret key id "${key.id}"`,
          });
        }
        secretKeyIds.add(key.id);
      });
    });
  });

/** The configuration as written in the file (every field with a default is optional). */
export type ServerConfigInput = z.input<typeof serverConfigSchema>;
/** The validated configuration, defaults applied. */
export type ServerConfig = z.output<typeof serverConfigSchema>;
export type AppConfig = ServerConfig['apps'][number];
export type PublishableKeyConfig = AppConfig['publishableKeys'][number];
export type SecretKeyConfig = AppConfig['secretKeys'][number];
export type AppLimits = AppConfig['limits'];
export type AppPlan = AppConfig['plan'];
export type AppTokenRules = AppConfig['tokens'];
export type ExtensionsConfig = ServerConfig['extensions'];
export type ResumeConfig = ServerConfig['resume'];
export type ConnectionLimits = ServerConfig['connections'];

/** The embedded development credentials, used when the server starts without a config file. */
export const DEV_CREDENTIALS = Object.freeze({
  appId: 'dev',
  publishableKey: 'pk_live_dev',
  secretKeyId: 'sk_id_dev',
  secretKey: 'sk_secret_dev',
});

/** The embedded default: one app, one all-powerful publishable key and one secret key. */
export const DEFAULT_CONFIG: ServerConfigInput = Object.freeze({
  host: '127.0.0.1',
  port: 9292,
  broker: { kind: 'memory' },
  apps: [
    {
      id: DEV_CREDENTIALS.appId,
      publishableKeys: [
        { key: DEV_CREDENTIALS.publishableKey, channelPatterns: ['**'], actions: [...PERMISSIONS] },
      ],
      secretKeys: [
        {
          id: DEV_CREDENTIALS.secretKeyId,
          secret: DEV_CREDENTIALS.secretKey,
          channelPatterns: ['**'],
          actions: [...PERMISSIONS],
        },
      ],
    },
  ],
}) as ServerConfigInput;

/** Thrown for a configuration that does not validate; the message names every bad field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid config: ${issues.join('; ')}`);
    this.issues = issues;
  }
}

function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? part : `.${part}`;
  }
  return text === '' ? '(root)' : text;
}

/** Validates a configuration object, applying defaults. Throws {@link ConfigError}. */
export function parseConfig(input: unknown): ServerConfig {
  const result = serverConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
  );
}

/** Parses the text of a configuration file (JSON). Throws {@link ConfigError}. */
export function parseConfigText(text: string): ServerConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`(file): not valid JSON (${(error as Error).message})`]);
  }
  return parseConfig(value);
}
