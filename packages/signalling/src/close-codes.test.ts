import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setup } from '../test/harness.js';
import { Disconnected, SignallingConnectError, WsCloseCode } from './index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Every close code of the seed: what the client does after it closes a connected socket. */
const CLOSE_CODES: readonly {
  readonly code: number;
  readonly reconnects: boolean;
  /** Delay before the next attempt with jitter-free backoff. */
  readonly delayMs?: number;
}[] = [
  { code: WsCloseCode.GOING_AWAY, reconnects: true, delayMs: 500 },
  { code: 1006, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.POLICY_VIOLATION, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.MESSAGE_TOO_BIG, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.CLIENT_INACTIVITY, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.INVALID_TOKEN, reconnects: false },
  { code: WsCloseCode.TOKEN_EXPIRED, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.CHANNEL_NOT_AUTHORIZED, reconnects: false },
  { code: WsCloseCode.OVER_CONCURRENT_LIMIT, reconnects: true, delayMs: 30_000 },
  { code: WsCloseCode.OVER_MESSAGE_RATE, reconnects: true, delayMs: 500 },
  { code: WsCloseCode.ACCOUNT_SUSPENDED, reconnects: false },
  { code: WsCloseCode.ADMIN_DISCONNECT, reconnects: false },
];

describe.each(CLOSE_CODES)('close code $code', ({ code, reconnects, delayMs }) => {
  it(reconnects ? `reconnects after ${delayMs} ms` : 'is terminal', async () => {
    let minted = 0;
    const tokenProvider = vi.fn(() => `jwt-${++minted}`);
    const { client, factory, connect, of } = setup({ tokenProvider });
    const socket = await connect();
    socket.serverClose(code, `reason ${code}`);
    expect({ ...of(Disconnected)[0] }).toEqual({
      code,
      reason: `reason ${code}`,
      willReconnect: reconnects,
    });
    if (!reconnects) {
      expect(client.state).toBe('closed');
      await vi.advanceTimersByTimeAsync(600_000);
      expect(factory.sockets).toHaveLength(1);
      expect(tokenProvider).toHaveBeenCalledTimes(1);
      expect(of(Disconnected)).toHaveLength(1);
      expect(vi.getTimerCount()).toBe(0);
      return;
    }
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(delayMs! - 1);
    expect(factory.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(factory.sockets).toHaveLength(2);
    // Every attempt, 4002 included, mints a fresh token.
    expect(tokenProvider).toHaveBeenCalledTimes(2);
    expect(factory.last.url).toMatch(/token=jwt-2$/);
    factory.last.welcome();
    expect(client.state).toBe('connected');
    expect(of(Disconnected)).toHaveLength(1);
  });

  it('before the first welcome: rejects connect() with SignallingConnectError and never retries', async () => {
    const { client, factory, of } = setup();
    const connecting = client.connect().catch((caught: unknown) => caught);
    factory.last.open().serverClose(code, 'early');
    const error = await connecting;
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect(error).toMatchObject({ closeCode: code, closeReason: 'early' });
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => event.willReconnect)).toEqual([false]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(factory.sockets).toHaveLength(1);
  });

  if (!reconnects) {
    it('during a reconnect attempt: ends in closed with one final Disconnected', async () => {
      const { client, factory, connect, of } = setup();
      const socket = await connect();
      socket.serverClose(1006);
      await vi.advanceTimersByTimeAsync(500);
      factory.last.open().serverClose(code, 'stop');
      expect(client.state).toBe('closed');
      expect(of(Disconnected).map((event) => ({ ...event }))).toEqual([
        { code: 1006, reason: '', willReconnect: true },
        { code, reason: 'stop', willReconnect: false },
      ]);
      expect(vi.getTimerCount()).toBe(0);
    });
  }
});
