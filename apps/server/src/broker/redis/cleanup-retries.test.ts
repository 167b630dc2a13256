import { describe, expect, it } from 'vitest';
import { CleanupRetries } from './cleanup-retries.js';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('CleanupRetries', () => {
  it('retries a call until it resolves, and keeps at most `limit` waiting', async () => {
    let answering = false;
    let dropped = 0;
    const calls: string[] = [];
    const retries = new CleanupRetries(10, 2, () => dropped++);
    const call = (name: string) => () => {
      calls.push(name);
      return answering ? Promise.resolve() : Promise.reject(new Error('timeout'));
    };
    retries.add(call('a'));
    retries.add(call('b'));
    retries.add(call('c'));
    expect(dropped).toBe(1);
    expect(retries.size).toBe(2);
    await until(() => calls.filter((name) => name === 'b').length >= 2);
    answering = true;
    await until(() => retries.size === 0);
    expect(calls.filter((name) => name === 'a')).toEqual(['a']);
    expect(calls.at(-1)).not.toBe('a');
    retries.close();
  });
});
