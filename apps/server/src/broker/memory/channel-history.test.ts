import { describe, expect, it } from 'vitest';
import type { HistoryPolicy } from '../../history/history-types.js';
import { AppHistory } from './channel-history.js';

const POLICY: HistoryPolicy = { size: 3, ttlMs: 1000, maxBytes: 1_000_000, maxReplay: 100 };

function publish(history: AppHistory, channel: string, data: unknown, now: number, bytes = 10) {
  const { entry } = history.append(
    channel,
    POLICY,
    { from: 'p', data, fromMetadata: undefined },
    now,
  );
  history.charge(channel, entry, bytes, POLICY.maxBytes);
  return entry;
}

describe('AppHistory', () => {
  it('keeps at most size messages per channel', () => {
    const history = new AppHistory();
    for (let n = 1; n <= 5; n++) publish(history, 'c', n, 0);
    const page = history.read('c', undefined, 100, POLICY, 0);
    expect(page.position.offset).toBe(5);
    expect(page.messages.map((entry) => entry.data)).toEqual([3, 4, 5]);
    const epoch = page.position.epoch;
    expect(history.read('c', { offset: 2, epoch }, 100, POLICY, 0).recovered).toBe(true);
    expect(history.read('c', { offset: 1, epoch }, 100, POLICY, 0).recovered).toBe(false);
  });

  it('drops messages older than ttl', () => {
    const history = new AppHistory();
    publish(history, 'c', 1, 0);
    publish(history, 'c', 2, 600);
    const page = history.read('c', undefined, 100, POLICY, 1200);
    expect(page.messages.map((entry) => entry.data)).toEqual([2]);
    expect(
      history.read('c', { offset: 0, epoch: page.position.epoch }, 100, POLICY, 1200).recovered,
    ).toBe(false);
    expect(
      history.read('c', { offset: 1, epoch: page.position.epoch }, 100, POLICY, 1200).recovered,
    ).toBe(true);
  });

  it('keeps the app within its byte budget, taking from the least recently published channel', () => {
    const history = new AppHistory();
    const budget = { ...POLICY, maxBytes: 2000 };
    const put = (channel: string, data: number) => {
      const { entry } = history.append(
        channel,
        budget,
        { from: 'p', data, fromMetadata: undefined },
        0,
      );
      history.charge(channel, entry, 500, budget.maxBytes);
    };
    put('old', 1);
    put('old', 2);
    put('new', 1);
    put('new', 2);
    expect(history.heldBytes).toBeLessThanOrEqual(2000);
    expect(
      history.read('new', undefined, 100, budget, 0).messages.map((entry) => entry.data),
    ).toEqual([1, 2]);
    expect(history.read('old', undefined, 100, budget, 0).messages.length).toBeLessThan(2);
  });

  it('gives a new stream a new epoch', () => {
    const one = new AppHistory();
    const two = new AppHistory();
    expect(one.position('c', 0).epoch).not.toBe(two.position('c', 0).epoch);
  });
});
