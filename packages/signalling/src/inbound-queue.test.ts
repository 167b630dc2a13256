import { describe, expect, it } from 'vitest';
import { InboundQueue } from './inbound-queue.js';

describe('InboundQueue', () => {
  it('handles an item pushed while another is handled after that one returns, in order', () => {
    const log: string[] = [];
    const queue = new InboundQueue<number>((item) => {
      log.push(`start ${item}`);
      if (item === 1) queue.push(2);
      if (item === 2) queue.push(3);
      log.push(`end ${item}`);
    });
    queue.push(1);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('holds an item pushed after a request settled until a later task', async () => {
    const handled: number[] = [];
    const queue = new InboundQueue<number>((item) => handled.push(item));
    queue.push(1);
    queue.markSettled();
    queue.push(2);
    expect(handled).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(handled).toEqual([1, 2]);
  });

  it('drops the items a clear() finds waiting', async () => {
    const handled: number[] = [];
    const queue = new InboundQueue<number>((item) => handled.push(item));
    queue.markSettled();
    queue.push(1);
    queue.clear();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(handled).toEqual([]);
  });
});
