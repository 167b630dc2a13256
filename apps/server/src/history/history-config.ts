import { isValidChannelPattern } from '../channel-pattern-check.js';
import { compileChannelPattern } from '@metered/protocol';
import { z } from 'zod';
import type { HistoryPolicy } from './history-types.js';

// Each app's configuration of the extensions `recovery` and `idempotency`: its channel history
// (per channel pattern) and its idempotency window.

const channelHistorySchema = z
  .object({
    pattern: z
      .string()
      .min(1)
      .refine(isValidChannelPattern, 'not a valid channel pattern')
      .describe(
        'Channels this entry applies to: a name or a pattern (`*` any run of characters except `/`, `**` anything). The first matching entry wins.',
      ),
    size: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .optional()
      .describe("Messages kept per channel; 0 turns history off. Default: the app's `size`."),
    ttlSeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .optional()
      .describe(
        "How long a message is kept; 0 turns history off. Default: the app's `ttlSeconds`.",
      ),
  })
  .strict();

export const historySchema = z
  .object({
    size: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(1000)
      .describe(
        'Messages kept per channel for recovery (`subscribe` with `since`) and `GET /v1/channels/:channel/history`; 0 turns history off for the app.',
      ),
    ttlSeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(300)
      .describe('How long a message is kept in history; 0 turns history off for the app.'),
    maxBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024 * 1024)
      .describe(
        "Bytes of history the app may hold on a memory-broker node (every channel's messages as sent); past it the oldest messages of the least recently published channels go first. On Redis history is bounded per channel by `size` and `ttlSeconds`.",
      ),
    maxReplay: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(1000)
      .describe(
        'Most messages one recovery replays; a longer gap is answered `recovered: false` (the client resynchronises).',
      ),
    channels: z
      .array(channelHistorySchema)
      .default([])
      .describe('Overrides of `size` and `ttlSeconds` per channel pattern, first match wins.'),
  })
  .strict()
  .describe(
    "The app's channel history (extension `recovery`): every message gets an offset and an epoch, and a subscriber that reconnects gets what it missed.",
  );

export const idempotencySchema = z
  .object({
    windowMs: z
      .number()
      .int()
      .min(1000)
      .max(86_400_000)
      .default(300_000)
      .describe(
        'How long a `publish` or `send` `idempotencyKey` is remembered (per app and sender peer id): a repeat within it is acknowledged with `duplicate: true` and not applied again.',
      ),
  })
  .strict()
  .describe('The extension `idempotency`: publishes and sends safe to retry.');

export type HistoryConfig = z.output<typeof historySchema>;
export type IdempotencyConfig = z.output<typeof idempotencySchema>;

/** Keeps a stream's epoch and last offset this long after its last message (quiet channels). */
export const STREAM_RETENTION_MS = 86_400_000;

/** The history of `channel` under an app's configuration; undefined when it has none. */
export function historyPolicy(history: HistoryConfig, channel: string): HistoryPolicy | undefined {
  let size = history.size;
  let ttlSeconds = history.ttlSeconds;
  for (const entry of history.channels) {
    if (compiledPattern(entry.pattern)(channel)) {
      size = entry.size ?? size;
      ttlSeconds = entry.ttlSeconds ?? ttlSeconds;
      break;
    }
  }
  if (size === 0 || ttlSeconds === 0) return undefined;
  return {
    size,
    ttlMs: ttlSeconds * 1000,
    maxBytes: history.maxBytes,
    maxReplay: history.maxReplay,
  };
}

const compiled = new Map<string, (channel: string) => boolean>();

/** Patterns compiled once (a bounded cache: configured patterns only). */
function compiledPattern(pattern: string): (channel: string) => boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    regex = compileChannelPattern(pattern);
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}
