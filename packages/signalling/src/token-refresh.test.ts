import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, setup } from '../test/harness.js';
import { Disconnected, TokenProviderError } from './index.js';
import { refreshDelay } from './token-refresh.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** The fake welcome's server clock, in ms and in Unix seconds. */
const SERVER_TIME = 1_767_225_600_000;
const NOW_S = SERVER_TIME / 1000;
const REFRESH = { refresh: {} };

/** A token provider whose calls the test answers: each call waits for `next`. */
function scriptedProvider() {
  const calls: {
    resolve: (token: string) => void;
    reject: (error: Error) => void;
    signal: AbortSignal;
  }[] = [];
  const provider = vi.fn(
    ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve, reject) => calls.push({ resolve, reject, signal })),
  );
  return { provider, calls };
}

/** A client whose token provider the test answers, connected with a token that expires in `seconds`. */
async function connectScripted(seconds: number) {
  const { provider, calls } = scriptedProvider();
  const harness = setup({ tokenProvider: provider, inactivityTimeoutMs: 0 });
  const connecting = harness.client.connect();
  await flush();
  calls[0]!.resolve('jwt-1');
  await flush();
  harness.factory.last.welcome({ expiresAt: NOW_S + seconds, extensions: REFRESH });
  await connecting;
  return { ...harness, calls, socket: harness.factory.last };
}

const refreshes = (socket: { sentFrames: Record<string, unknown>[] }) =>
  socket.sentFrames.filter((frame) => frame.type === 'refresh');

describe('refreshDelay', () => {
  it('refreshes with a third of the lifetime left, at most 60 s before expiry', () => {
    expect(refreshDelay(3_000)).toBe(2_000);
    expect(refreshDelay(3_600_000)).toBe(3_540_000);
    expect(refreshDelay(180_000)).toBe(120_000);
    expect(refreshDelay(300_000)).toBe(240_000);
  });
});

describe('token refresh advertised', () => {
  it('refreshes a 3-second token 1 s before expiry, on the open connection, again and again', async () => {
    let count = 0;
    const tokenProvider = vi.fn(() => `jwt-${++count}`);
    const { client, factory, connect, of } = setup({ tokenProvider });
    // The local clock is an hour off the server's: the schedule follows the server's.
    vi.setSystemTime(SERVER_TIME + 3_600_000);
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentFrames).toEqual([
      { type: 'refresh', token: 'jwt-2', requestId: expect.any(String) },
    ]);
    socket.ackLast('refresh', { expiresAt: NOW_S + 5 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(refreshes(socket)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes(socket).map((frame) => frame.token)).toEqual(['jwt-2', 'jwt-3']);
    for (let second = 5; second < 60; second += 2) {
      socket.ackLast('refresh', { expiresAt: NOW_S + second + 2 });
      await vi.advanceTimersByTimeAsync(2_000);
    }
    expect(refreshes(socket)).toHaveLength(30);
    expect(factory.sockets).toHaveLength(1);
    expect(client.state).toBe('connected');
    expect(of(Disconnected)).toEqual([]);
  });

  it('refreshes a 1-hour token 60 s before expiry', async () => {
    const tokenProvider = vi.fn(() => 'jwt');
    const { connect } = setup({ tokenProvider, inactivityTimeoutMs: 0 });
    const socket = await connect({ expiresAt: NOW_S + 3_600, extensions: REFRESH });
    await vi.advanceTimersByTimeAsync(3_539_999);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes(socket)).toHaveLength(1);
  });

  it('retries a failed token fetch a bounded number of times, then falls back to 4002 and a reconnect', async () => {
    let fail = false;
    const tokenProvider = vi.fn(() => (fail ? Promise.reject(new Error('down')) : 'jwt'));
    const { client, factory, connect } = setup({ tokenProvider, inactivityTimeoutMs: 0 });
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    fail = true;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(tokenProvider).toHaveBeenCalledTimes(1 + 4);
    expect(refreshes(socket)).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokenProvider).toHaveBeenCalledTimes(1 + 4);
    fail = false;
    socket.serverClose(4002, 'token expired');
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.sockets).toHaveLength(2);
  });

  it('reports each failed refresh fetch as TokenProviderError, counting from 1; a refused token is not one', async () => {
    let fail = false;
    const tokenProvider = vi.fn(() => (fail ? Promise.reject(new Error('down')) : 'jwt'));
    const { client, connect } = setup({ tokenProvider, inactivityTimeoutMs: 0 });
    const failures: TokenProviderError[] = [];
    client.on(TokenProviderError, (event) => failures.push(event));
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    fail = true;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(failures.map((event) => event.consecutiveFailures)).toEqual([1, 2, 3, 4]);
    expect(failures.every((event) => (event.err as Error).message === 'down')).toBe(true);
    // The connection is untouched: the server closes it at expiry (4002).
    expect(client.state).toBe('connected');
    expect(socket.closedWith).toBeUndefined();
  });

  it('does not report a refresh the server refused as TokenProviderError', async () => {
    const tokenProvider = vi.fn(() => 'jwt');
    const { client, connect } = setup({ tokenProvider });
    const failures: TokenProviderError[] = [];
    client.on(TokenProviderError, (event) => failures.push(event));
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    for (let step = 0; step < 30; step++) {
      await vi.advanceTimersByTimeAsync(100);
      const last = socket.lastSent('refresh');
      if (last)
        socket.deliver({ type: 'error', requestId: last.requestId, code: 'action_not_permitted' });
    }
    expect(refreshes(socket)).toHaveLength(4);
    expect(failures).toEqual([]);
  });

  it('never sends an empty token: a provider that returns none counts as a failed fetch', async () => {
    let count = 0;
    const tokenProvider = vi.fn(() => (count++ === 0 ? 'jwt' : ''));
    const { connect } = setup({ tokenProvider, inactivityTimeoutMs: 0 });
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(tokenProvider).toHaveBeenCalledTimes(1 + 4);
    expect(socket.sent).toEqual([]);
  });

  it('retries a refused refresh, bounded', async () => {
    const tokenProvider = vi.fn(() => 'jwt');
    const { connect } = setup({ tokenProvider });
    const socket = await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    const refuse = (): void => {
      const last = socket.lastSent('refresh');
      if (last)
        socket.deliver({ type: 'error', requestId: last.requestId, code: 'action_not_permitted' });
    };
    for (let step = 0; step < 30; step++) {
      await vi.advanceTimersByTimeAsync(100);
      refuse();
    }
    expect(refreshes(socket)).toHaveLength(4);
  });

  it('drops a refresh whose token arrives after a reconnect: one chain, on the new connection', async () => {
    const { factory, calls, socket: first } = await connectScripted(3);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toHaveLength(2);
    // The refresh's token is still being fetched when the connection drops.
    first.serverClose(1006);
    expect(calls[1]!.signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(3);
    calls[2]!.resolve('jwt-3');
    await flush();
    const second = factory.last.welcome({ expiresAt: NOW_S + 10, extensions: REFRESH });
    calls[1]!.resolve('late');
    await flush();
    expect(second.sent).toEqual([]);
    expect(first.sent).toEqual([]);
    // The new connection's own chain asks for one token (which the test never answers).
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(4);
  });

  it('drops a refresh whose ack never came before a reconnect: one chain, on the new connection', async () => {
    const { factory, calls, socket: first } = await connectScripted(3);
    await vi.advanceTimersByTimeAsync(2_000);
    calls[1]!.resolve('jwt-2');
    await flush();
    expect(refreshes(first)).toHaveLength(1);
    first.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    calls[2]!.resolve('jwt-3');
    await flush();
    // 9 s left by the server's clock: refreshed after 6 s, once.
    const second = factory.last.welcome({ expiresAt: NOW_S + 9, extensions: REFRESH });
    await vi.advanceTimersByTimeAsync(5_999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(4);
    calls[3]!.resolve('jwt-4');
    await flush();
    expect(refreshes(second).map((frame) => frame.token)).toEqual(['jwt-4']);
    expect(refreshes(first)).toHaveLength(1);
  });

  it('clears every timer and aborts a fetch in progress on close()', async () => {
    const { client, calls } = await connectScripted(3);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toHaveLength(2);
    await client.close();
    expect(calls[1]!.signal.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('schedules nothing for a publishable key or a token without expiry', async () => {
    const { connect } = setup({ inactivityTimeoutMs: 0 });
    await connect({ expiresAt: NOW_S + 3, extensions: REFRESH });
    expect(vi.getTimerCount()).toBe(0);
    const withToken = setup({ tokenProvider: () => 'jwt', inactivityTimeoutMs: 0 });
    await withToken.connect({ expiresAt: null, extensions: REFRESH });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('token refresh not advertised', () => {
  it('sends no refresh and reconnects on 4002 with a fresh token, as before', async () => {
    let count = 0;
    const tokenProvider = vi.fn(() => `jwt-${++count}`);
    const { client, factory, connect } = setup({ tokenProvider, inactivityTimeoutMs: 0 });
    const socket = await connect({ expiresAt: NOW_S + 3 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(socket.sent).toEqual([]);
    socket.serverClose(4002, 'token expired');
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.last.url).toBe('wss://rms.metered.ca/v1?token=jwt-2');
  });
});
