import { describe, expect, it } from 'vitest';
import { runBundledChild } from '../test/bundled-child.js';

describe('closing', () => {
  it('leaves nothing behind: a process that closed its peer connections exits by itself', async () => {
    // A child kept alive by a leaked handle never exits: bounded, then killed and reported.
    const { code, signal, stdout, stderr } = await runBundledChild('handles-child.ts');
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const { before, after } = JSON.parse(stdout.trim()) as { before: number; after: number };
    expect(after).toBeLessThanOrEqual(before);
  }, 60_000);
});
