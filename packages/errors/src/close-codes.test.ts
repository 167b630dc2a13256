import { describe, expect, it } from 'vitest';
import {
  OVER_CONCURRENT_LIMIT_FLOOR_MS,
  WsCloseCode,
  closeCodeAction,
  isTerminalCloseCode,
} from './close-codes.js';

describe('closeCodeAction', () => {
  it.each([
    [1000, 'reconnect'],
    [1001, 'reconnect'],
    [1006, 'reconnect'],
    [1008, 'reconnect'],
    [1009, 'reconnect'],
    [4000, 'reconnect'],
    [4001, 'stop'],
    [4002, 'reconnect-with-fresh-token'],
    [4003, 'stop'],
    [4010, 'reconnect-after-floor'],
    [4011, 'reconnect'],
    [4012, 'stop'],
    [4020, 'stop'],
    [4999, 'reconnect'],
  ] as const)('classifies %i as %s', (code, action) => {
    expect(closeCodeAction(code)).toBe(action);
    expect(isTerminalCloseCode(code)).toBe(action === 'stop');
  });

  it('members compare equal to plain numbers', () => {
    const received: number = 4020;
    expect(received === WsCloseCode.ADMIN_DISCONNECT).toBe(true);
    expect(WsCloseCode.GOING_AWAY).toBe(1001);
  });

  it('floors 4010 at 30 s', () => {
    expect(OVER_CONCURRENT_LIMIT_FLOOR_MS).toBe(30_000);
  });
});
