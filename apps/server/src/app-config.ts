// One app's configuration: its keys, quota, per-connection limits, token rules and ICE servers,
// validated with zod. `config.ts` puts the apps together with the server-wide settings.
import { isValidChannelPattern } from './channel-pattern-check.js';
import { hasLoneSurrogate } from './channel-name.js';
import { PERMISSIONS, PROTOCOL_LIMITS, parseIceServers } from '@metered/protocol';
import { z } from 'zod';
import { historySchema, idempotencySchema } from './history/history-config.js';

/** Largest configurable `maxMessageSize`, so that relayed frames stay under a client's 1 MiB cap. */
export const MAX_CONFIGURABLE_MESSAGE_SIZE = PROTOCOL_LIMITS.maxServerFrameLength - 8192;

const permissionSchema = z.enum(PERMISSIONS);

const PATTERNS_TEXT =
  'Channels the key may use: names or patterns, `*` matching any run of characters except `/`, `**` matching anything.';

const channelPatternSchema = z
  .string()
  .min(1, 'a channel pattern must not be empty')
  .max(PROTOCOL_LIMITS.maxChannelNameBytes, 'a channel pattern is at most 256 characters')
  .refine(isValidChannelPattern, 'not a valid channel pattern');

const publishableKeySchema = z
  .object({
    key: z
      .string()
      .min(1)
      .describe(
        'The key itself, as clients pass it (`?key=`). Unique across apps; anyone holding it can connect, so scope it.',
      ),
    channelPatterns: z.array(channelPatternSchema).default(['**']).describe(PATTERNS_TEXT),
    actions: z
      .array(permissionSchema)
      .default([...PERMISSIONS])
      .describe(
        'What connections with this key may do. Each connection gets a random peer id and no peer metadata.',
      ),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "When not empty, the upgrade's `Origin` header must be one of these (e.g. `https://app.example.com`); otherwise close 4001.",
      ),
  })
  .strict()
  .describe('A key for clients that connect without a token (`?key=`).');

const secretKeySchema = z
  .object({
    id: z
      .string()
      .min(1)
      .describe(
        "The key's id: the `kid` header of the JWTs it signs, and the first half of the REST API's `Bearer id:secret`. Unique across apps.",
      ),
    secret: z
      .string()
      .min(1)
      .describe(
        'The HMAC secret (HS256 over its UTF-8 bytes). Keep it on your backend; use a long random value.',
      ),
    channelPatterns: z
      .array(channelPatternSchema)
      .default(['**'])
      .describe(
        "Channels the key's tokens may name: a token's `channels` must each lie within one of these patterns.",
      ),
    actions: z
      .array(permissionSchema)
      .default([...PERMISSIONS])
      .describe("Permissions the key's tokens may grant, and what the key may do on the REST API."),
  })
  .strict()
  .describe('A key that signs tokens (JWTs) and authorises the REST API.');

const planSchema = z
  .object({
    maxConcurrentConnections: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe(
        'Open connections of the app (across every node on Redis). A connection over it is refused with 4010; existing ones stay.',
      ),
    maxMessagesPerPeriod: z
      .number()
      .int()
      .nonnegative()
      .default(1_000_000)
      .describe(
        'Client publishes and sends per period (attempts count). Past it, publish and send fail with `over_message_quota`; subscribing and delivery go on. REST publishes are not counted.',
      ),
    periodSeconds: z
      .number()
      .int()
      .positive()
      .default(2_592_000)
      .describe('Length of a quota period, aligned to the Unix epoch (default 30 days).'),
  })
  .strict()
  .describe("The app's quotas.");

const limitsSchema = z
  .object({
    maxMessageSize: z
      .number()
      .int()
      .min(256)
      // Frames to clients stay under their 1 MiB cap: a relayed message adds at most the
      // sender's id and 4 KiB of peer metadata to what the publisher sent.
      .max(MAX_CONFIGURABLE_MESSAGE_SIZE, 'maxMessageSize is at most 1040384 (1 MiB - 8 KiB)')
      .default(PROTOCOL_LIMITS.maxMessageSize)
      .describe(
        'Largest client frame in bytes, advertised to clients in `welcome`. A larger frame closes the socket with 1009.',
      ),
    maxChannelsPerConnection: z
      .number()
      .int()
      .positive()
      .default(PROTOCOL_LIMITS.maxChannelsPerConnection)
      .describe(
        'Channels one connection may be subscribed to; one more fails with `channel_limit_exceeded`.',
      ),
    messagesPerSecond: z
      .number()
      .positive()
      .default(PROTOCOL_LIMITS.messagesPerSecond)
      .describe(
        "Refill rate of each connection's token bucket; every inbound frame takes a token. An empty bucket closes the socket with 4011.",
      ),
    messageBurst: z
      .number()
      .int()
      .positive()
      .default(PROTOCOL_LIMITS.messageBurst)
      .describe('Size of that bucket: how many frames a connection may send at once.'),
    connectAttemptsPerIpPerMinute: z
      .number()
      .int()
      .positive()
      .default(PROTOCOL_LIMITS.connectAttemptsPerIpPerMinute)
      .describe(
        'WebSocket upgrades per client address (an IPv6 address counts by its /64) per minute; more are refused with HTTP 429 and `Retry-After` before the upgrade.',
      ),
    maxPublishBytesPerSecond: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe(
        "Bytes of publishes (a WebSocket `publish` frame as received, the JSON of a REST publish's `data`) the app may send per second through one node; over it a publish fails with `over_message_quota` (REST: 429), the connection stays open. Unset: no limit. With the Redis broker every published byte goes to every node: this bounds one app's share of the bus.",
      ),
  })
  .strict()
  .describe('Per-connection limits of the app, and its publish bandwidth per node.');

const tokensSchema = z
  .object({
    clockToleranceSeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .default(30)
      .describe(
        "How far ahead of this server's clock a token's `nbf` and `iat` may lie, for backends whose clock runs a little fast. Beyond it the token is refused with 4001. `exp` gets no tolerance.",
      ),
    maxLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(31_536_000)
      .default(86_400)
      .describe(
        'Longest life of a token: one whose `exp` lies further than this after its `iat` (or after now, beyond the clock tolerance) is refused with 4001. `POST /v1/tokens` refuses a longer `expiresInSec` (it never mints more than 86400 s).',
      ),
  })
  .strict()
  .describe("How the app's tokens are checked beyond their signature.");

const iceServerSchema = z
  .object({
    urls: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('`stun:`, `stuns:`, `turn:` or `turns:` URLs.'),
    username: z.string().optional().describe('For TURN servers.'),
    credential: z.string().optional().describe('For TURN servers.'),
  })
  .strict();

export const appSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .refine((id) => !hasLoneSurrogate(id), 'a lone surrogate has no UTF-8 form')
      .describe(
        'Unique app id. Apps are isolated: no message, presence or kick crosses from one to another.',
      ),
    suspended: z
      .boolean()
      .default(false)
      .describe(
        "`true` refuses the app's connections with 4012, and closes its live ones with 4012 when a reload suspends it.",
      ),
    publishableKeys: z
      .array(publishableKeySchema)
      .default([])
      .describe('Keys for clients that connect without a token.'),
    secretKeys: z
      .array(secretKeySchema)
      .default([])
      .describe('Keys that sign tokens and authorise the REST API.'),
    plan: planSchema.default({}),
    limits: limitsSchema.default({}),
    tokens: tokensSchema.default({}),
    history: historySchema.default({}),
    idempotency: idempotencySchema.default({}),
    iceServers: z
      .array(iceServerSchema)
      .max(PROTOCOL_LIMITS.maxIceServers)
      .default([])
      .refine(
        (servers) => servers.length === 0 || parseIceServers(servers) !== null,
        'iceServers urls must be stun:, stuns:, turn: or turns: URLs of at most 512 characters, username/credential at most 1024 (clients drop the whole list otherwise)',
      )
      .describe(
        "STUN/TURN servers sent to every client in `welcome.metadata.iceServers`, unless the client's token carries its own `metadata.iceServers`.",
      ),
  })
  .strict()
  .describe('One application: its keys, quotas and limits.');
