import {
  PERMISSIONS,
  PROTOCOL_LIMITS,
  compileChannelPattern,
  parseIceServers,
} from '@metered/protocol';
import { z } from 'zod';

// The configuration file's shape, validated with zod. Every field but `apps` has a default, so a
// minimal file names only its apps; with no file at all the server runs on DEFAULT_CONFIG.

/** Largest configurable `maxMessageSize`, so that relayed frames stay under a client's 1 MiB cap. */
export const MAX_CONFIGURABLE_MESSAGE_SIZE = PROTOCOL_LIMITS.maxServerFrameLength - 8192;

const permissionSchema = z.enum(PERMISSIONS);

const channelPatternSchema = z
  .string()
  .min(1, 'a channel pattern must not be empty')
  .max(PROTOCOL_LIMITS.maxChannelNameBytes, 'a channel pattern is at most 256 characters')
  .refine((pattern) => {
    try {
      compileChannelPattern(pattern);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid channel pattern');

const publishableKeySchema = z
  .object({
    key: z.string().min(1),
    channelPatterns: z.array(channelPatternSchema).default(['**']),
    actions: z.array(permissionSchema).default([...PERMISSIONS]),
    allowedOrigins: z.array(z.string().min(1)).default([]),
  })
  .strict();

const secretKeySchema = z
  .object({
    id: z.string().min(1),
    secret: z.string().min(1),
    channelPatterns: z.array(channelPatternSchema).default(['**']),
    actions: z.array(permissionSchema).default([...PERMISSIONS]),
  })
  .strict();

const planSchema = z
  .object({
    maxConcurrentConnections: z.number().int().positive().default(1000),
    maxMessagesPerPeriod: z.number().int().nonnegative().default(1_000_000),
    periodSeconds: z.number().int().positive().default(2_592_000),
  })
  .strict();

const limitsSchema = z
  .object({
    maxMessageSize: z
      .number()
      .int()
      .min(256)
      // Frames to clients stay under their 1 MiB cap: a relayed message adds at most the
      // sender's id and 4 KiB of peer metadata to what the publisher sent.
      .max(MAX_CONFIGURABLE_MESSAGE_SIZE, 'maxMessageSize is at most 1040384 (1 MiB - 8 KiB)')
      .default(PROTOCOL_LIMITS.maxMessageSize),
    maxChannelsPerConnection: z
      .number()
      .int()
      .positive()
      .default(PROTOCOL_LIMITS.maxChannelsPerConnection),
    messagesPerSecond: z.number().positive().default(PROTOCOL_LIMITS.messagesPerSecond),
    messageBurst: z.number().int().positive().default(PROTOCOL_LIMITS.messageBurst),
    connectAttemptsPerIpPerMinute: z
      .number()
      .int()
      .positive()
      .default(PROTOCOL_LIMITS.connectAttemptsPerIpPerMinute),
  })
  .strict();

const iceServerSchema = z
  .object({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  })
  .strict();

const appSchema = z
  .object({
    id: z.string().min(1),
    suspended: z.boolean().default(false),
    publishableKeys: z.array(publishableKeySchema).default([]),
    secretKeys: z.array(secretKeySchema).default([]),
    plan: planSchema.default({}),
    limits: limitsSchema.default({}),
    iceServers: z
      .array(iceServerSchema)
      .max(PROTOCOL_LIMITS.maxIceServers)
      .default([])
      .refine(
        (servers) => servers.length === 0 || parseIceServers(servers) !== null,
        'iceServers urls must be stun:, stuns:, turn: or turns: URLs of at most 512 characters, username/credential at most 1024 (clients drop the whole list otherwise)',
      ),
  })
  .strict();

const brokerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }).strict(),
  z
    .object({
      kind: z.literal('redis'),
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379'),
      /** Prefix of every key and pub/sub channel, so several clusters can share one Redis. */
      keyPrefix: z.string().min(1).default('metered'),
      /** A node that has not renewed its lease for this long is dead: its members leave. */
      leaseMs: z.number().int().min(300).max(300_000).default(15_000),
    })
    .strict(),
]);

export const serverConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9292),
    broker: brokerSchema.default({ kind: 'memory' }),
    apps: z.array(appSchema).min(1, 'at least one app is required'),
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
