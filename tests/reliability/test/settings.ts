import { onTestFailed } from 'vitest';
import { BROKER } from './broker.js';

/** `RELIABILITY_LONG=1`: the long runs, by hand (minutes instead of seconds). */
export const LONG = process.env.RELIABILITY_LONG === '1';

/**
 * The seed of every random choice a suite makes: `RELIABILITY_SEED` replays a run, otherwise a
 * fresh one is drawn (and printed when a test fails).
 */
export const SEED = parseSeed(process.env.RELIABILITY_SEED);

function parseSeed(text: string | undefined): number {
  if (text === undefined || text === '') return Math.floor(Math.random() * 0x7fffffff);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`RELIABILITY_SEED must be an integer`);
  return seed;
}

/** Prints how to replay the current test when it fails. */
export function printSeedOnFailure(seed: number = SEED): void {
  onTestFailed(() => {
    console.error(`replay with RELIABILITY_SEED=${seed}${LONG ? ' RELIABILITY_LONG=1' : ''}`);
  });
}

/** Prints a measured summary (and appends it to `RELIABILITY_REPORT` when set). */
export async function report(
  name: string,
  figures: Record<string, unknown>,
  details: Record<string, unknown> = {},
): Promise<void> {
  const summary = { suite: name, broker: BROKER, long: LONG, seed: SEED, ...figures };
  console.log(`[reliability] ${JSON.stringify(summary)}`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) {
    const { appendFile } = await import('node:fs/promises');
    await appendFile(file, `${JSON.stringify({ ...summary, ...details })}\n`);
  }
}
