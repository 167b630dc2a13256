import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, setup } from '../test/harness.js';
import {
  AckTimeoutError,
  Connected,
  Disconnected,
  Presence,
  ServerError,
  SignallingConnectError,
  SignallingError,
  TokenProviderError,
} from './index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('welcome timeout (10 s)', () => {
  it('ends the first attempt: closes with 4000 and rejects connect()', async () => {
    const { client, factory, of } = setup();
    const connecting = client.connect().catch((caught: unknown) => caught);
    factory.last.open();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(client.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    const error = await connecting;
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect(error).toMatchObject({ closeCode: 4000, closeReason: 'welcome timeout' });
    expect(factory.last.closedWith).toEqual({ code: 4000, reason: 'welcome timeout' });
    expect(client.state).toBe('closed');
    expect(of(Disconnected)).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    await flush();
    expect(factory.last.hasListeners).toBe(false);
  });

  it('ignores a welcome that comes after the timeout', async () => {
    const { client, factory, of } = setup();
    const connecting = client.connect().catch(() => undefined);
    const socket = factory.last;
    await vi.advanceTimersByTimeAsync(10_000);
    await connecting;
    socket.welcome();
    expect(of(Connected)).toHaveLength(0);
  });

  it('moves a stalled reconnect attempt on to the next one', async () => {
    const { client, factory, connect } = setup();
    const socket = await connect();
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(factory.sockets[1]!.closedWith?.code).toBe(4000);
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(factory.sockets).toHaveLength(3);
  });
});

describe('ack timeout (15 s)', () => {
  it('rejects with AckTimeoutError, keeps the connection and ignores the late ack', async () => {
    const { client, connect, of } = setup();
    const socket = await connect();
    const publishing = client.publish('room', 1).catch((caught: unknown) => caught);
    const requestId = socket.lastSent()!.requestId;
    await vi.advanceTimersByTimeAsync(14_999);
    let settled = false;
    void publishing.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await publishing;
    expect(error).toBeInstanceOf(AckTimeoutError);
    expect(error).toMatchObject({ requestId, timeout: 15_000 });
    expect(client.state).toBe('connected');
    socket.deliver({ type: 'ack', requestId });
    socket.deliver({ type: 'error', requestId, code: 'peer_not_found' });
    expect(of(ServerError)).toHaveLength(1);
    expect(client.state).toBe('connected');
  });
});

describe('inactivity watchdog and keepalive ping', () => {
  it('pings after a third of the timeout with nothing received, then closes with 4000 and reconnects', async () => {
    const { client, connect, factory, of } = setup();
    const socket = await connect();
    await vi.advanceTimersByTimeAsync(19_999);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentFrames).toEqual([{ type: 'ping' }]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(socket.sentFrames).toEqual([{ type: 'ping' }, { type: 'ping' }]);
    await vi.advanceTimersByTimeAsync(19_999);
    expect(client.state).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.closedWith).toEqual({ code: 4000, reason: 'inactivity timeout' });
    expect(client.state).toBe('reconnecting');
    expect({ ...of(Disconnected)[0] }).toEqual({
      code: 4000,
      reason: 'inactivity timeout',
      willReconnect: true,
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.sockets).toHaveLength(2);
  });

  it('counts any inbound frame as activity: a pong postpones the ping and the watchdog', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    await vi.advanceTimersByTimeAsync(10_000);
    socket.deliver({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.sentFrames).toEqual([{ type: 'ping' }]);
    socket.deliver({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(59_999);
    expect(client.state).toBe('connected');
    await vi.advanceTimersByTimeAsync(1);
    expect(client.state).toBe('reconnecting');
  });

  it('scales with inactivityTimeoutMs (ping at a third, at least 1 s)', async () => {
    const { connect } = setup({ inactivityTimeoutMs: 1_500 });
    const socket = await connect();
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentFrames).toEqual([{ type: 'ping' }]);
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.closedWith?.code).toBe(4000);
  });

  it('does not re-arm a timer per inbound frame', async () => {
    const { connect } = setup();
    const socket = await connect();
    const timers = vi.getTimerCount();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const clearTimeoutSpy = vi.spyOn(globalThis, 'clearTimeout');
    for (let index = 0; index < 1_000; index++) {
      socket.deliver({ type: 'message', channel: 'room', from: 'p', data: index });
    }
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    expect(clearTimeoutSpy).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(timers);
  });

  it.each([0, -1, Infinity, -Infinity])(
    'inactivityTimeoutMs %s disables the watchdog and the ping',
    async (inactivityTimeoutMs) => {
      const { client, connect } = setup({ inactivityTimeoutMs });
      const socket = await connect();
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(600_000);
      expect(socket.sent).toEqual([]);
      expect(client.state).toBe('connected');
    },
  );
});

describe('token provider', () => {
  it('is called on every attempt and its token is URL-encoded', async () => {
    let count = 0;
    const tokenProvider = vi.fn(() => Promise.resolve(`token ${++count}/+`));
    const { factory, connect } = setup({ tokenProvider });
    const socket = await connect();
    expect(socket.url).toBe('wss://rms.metered.ca/v1?token=token%201%2F%2B');
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(tokenProvider).toHaveBeenCalledTimes(2);
    expect(factory.last.url).toBe('wss://rms.metered.ca/v1?token=token%202%2F%2B');
  });

  it('is bounded by tokenProviderTimeoutMs and aborted on timeout', async () => {
    let signal: AbortSignal | undefined;
    const tokenProvider = vi.fn((context: { signal: AbortSignal }) => {
      signal = context.signal;
      return new Promise<string>(() => {});
    });
    const { client, factory, of } = setup({ tokenProvider, tokenProviderTimeoutMs: 3_000 });
    const connecting = client.connect().catch((caught: unknown) => caught);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(client.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    const error = await connecting;
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect((error as SignallingConnectError).cause).toBeInstanceOf(SignallingError);
    expect(signal?.aborted).toBe(true);
    expect(of(TokenProviderError).map((event) => event.consecutiveFailures)).toEqual([1]);
    expect(factory.sockets).toHaveLength(0);
    expect(client.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['throws', () => Promise.reject(new Error('auth down'))],
    ['returns an empty string', () => ''],
    ['returns a non-string', () => 42 as unknown as string],
  ])('fails the attempt when it %s', async (_, tokenProvider) => {
    const { client, of } = setup({ tokenProvider });
    await expect(client.connect()).rejects.toBeInstanceOf(SignallingConnectError);
    expect(of(TokenProviderError)).toHaveLength(1);
  });

  it('reports every consecutive failure while reconnecting, then ends closed with one final Disconnected', async () => {
    let fail = false;
    const tokenProvider = vi.fn(() => (fail ? Promise.reject(new Error('down')) : 'jwt'));
    const { client, connect, of } = setup({ tokenProvider, reconnect: { maxAttempts: 3 } });
    const socket = await connect();
    fail = true;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500 + 1_000 + 2_000);
    expect(of(TokenProviderError).map((event) => event.consecutiveFailures)).toEqual([1, 2, 3]);
    expect((of(TokenProviderError)[0]!.err as Error).message).toBe('down');
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => event.willReconnect)).toEqual([true, false]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up after 3 consecutive failures, long before the reconnect attempts run out', async () => {
    let fail = false;
    const down = new Error('login expired');
    const tokenProvider = vi.fn(() => (fail ? Promise.reject(down) : 'jwt'));
    const { client, connect, of } = setup({ tokenProvider });
    const socket = await connect();
    fail = true;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500 + 1_000);
    const waiting = client.connect().catch((caught: unknown) => caught);
    expect(client.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(of(TokenProviderError).map((event) => event.consecutiveFailures)).toEqual([1, 2, 3]);
    expect(client.state).toBe('closed');
    expect(
      of(Disconnected).map(({ code, reason, willReconnect }) => ({ code, reason, willReconnect })),
    ).toEqual([
      { code: 1006, reason: '', willReconnect: true },
      { code: 1006, reason: 'token provider stuck', willReconnect: false },
    ]);
    const error = await waiting;
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect(error).toMatchObject({ closeCode: 1006, closeReason: 'token provider stuck' });
    expect((error as Error).cause).toBe(down);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokenProvider).toHaveBeenCalledTimes(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('announces the end once when a listener closes the client on a TokenProviderError', async () => {
    let fail = false;
    const tokenProvider = () => (fail ? Promise.reject(new Error('down')) : 'jwt');
    const { client, connect, of } = setup({ tokenProvider });
    const socket = await connect();
    client.on(TokenProviderError, () => void client.close());
    fail = true;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => event.willReconnect)).toEqual([true, false]);
    expect(of(TokenProviderError)).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts only consecutive failures: a token in between starts the count again', async () => {
    const results = ['jwt', 'fail', 'fail', 'jwt', 'fail', 'fail', 'jwt'];
    const tokenProvider = vi.fn(() => {
      const next = results.shift() ?? 'fail';
      return next === 'fail' ? Promise.reject(new Error('down')) : next;
    });
    const { client, factory, connect, of } = setup({ tokenProvider });
    await connect();
    for (let drop = 0; drop < 2; drop++) {
      factory.last.serverClose(1006);
      await vi.advanceTimersByTimeAsync(500 + 1_000 + 2_000);
      expect(client.state).toBe('reconnecting');
      factory.last.welcome();
      await flush();
      expect(client.state).toBe('connected');
    }
    expect(of(TokenProviderError).map((event) => event.consecutiveFailures)).toEqual([1, 2, 1, 2]);
  });

  it('stops a slow token provider on close() and opens no socket', async () => {
    let signal: AbortSignal | undefined;
    const { client, factory } = setup({
      tokenProvider: ({ signal: given }) => {
        signal = given;
        return new Promise<string>(() => {});
      },
    });
    const connecting = client.connect().catch((caught: unknown) => caught);
    await flush();
    await client.close();
    expect(await connecting).toBeInstanceOf(SignallingError);
    expect(signal?.aborted).toBe(true);
    expect(factory.sockets).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('reconnect backoff', () => {
  it('doubles from 500 ms up to 30 s and resets after a welcome', async () => {
    const { factory, connect } = setup({ reconnect: { maxAttempts: Infinity } });
    const socket = await connect();
    socket.serverClose(1006);
    const delays = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    for (const delay of delays) {
      const before = factory.sockets.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(factory.sockets).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(factory.sockets).toHaveLength(before + 1);
      factory.last.serverClose(1006);
    }
    await vi.advanceTimersByTimeAsync(30_000);
    factory.last.welcome();
    factory.last.serverClose(1006);
    const before = factory.sockets.length;
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.sockets).toHaveLength(before + 1);
  });

  it.each([
    [0, 400],
    [0.999_999, 599],
    [0.25, 450],
  ])('applies ±20 %% jitter from the injected random (%s → %s ms)', async (random, delay) => {
    const { factory, connect } = setup({ random: () => random });
    const socket = await connect();
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(delay - 1);
    expect(factory.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(factory.sockets).toHaveLength(2);
  });

  it('floors the delay after a 4010 close at 30 s, after jitter', async () => {
    const { factory, connect } = setup({ random: () => 0 });
    const socket = await connect();
    socket.serverClose(4010, 'over limit');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(factory.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(factory.sockets).toHaveLength(2);
    // Only for the attempt that follows the 4010.
    factory.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(800);
    expect(factory.sockets).toHaveLength(3);
  });

  it('ends in closed with exactly one final Disconnected when attempts run out', async () => {
    const { client, factory, connect, of } = setup({ reconnect: { maxAttempts: 2 } });
    const socket = await connect();
    socket.serverClose(1006, 'network');
    await vi.advanceTimersByTimeAsync(500);
    factory.last.serverClose(1006, 'still down');
    await vi.advanceTimersByTimeAsync(1_000);
    factory.last.serverClose(1011, 'nope');
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => ({ ...event }))).toEqual([
      { code: 1006, reason: 'network', willReconnect: true },
      { code: 1011, reason: 'nope', willReconnect: false },
    ]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(factory.sockets).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reconnect: false ends in closed after a drop', async () => {
    const { client, connect, of, factory } = setup({ reconnect: false });
    const socket = await connect();
    socket.serverClose(1006);
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => event.willReconnect)).toEqual([false]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(factory.sockets).toHaveLength(1);
  });

  it('resolves a connect() made while reconnecting on the next welcome', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect();
    socket.serverClose(1006);
    const reconnected = client.connect();
    await vi.advanceTimersByTimeAsync(500);
    factory.last.welcome();
    await reconnected;
    expect(of(Connected).map((event) => event.isReconnect)).toEqual([false, true]);
  });
});

describe('autoResubscribe', () => {
  it('replays every active channel with its flag and a fresh requestId after the reconnect welcome', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect();
    const first = client.subscribe('room-a');
    const firstId = socket.ackLast();
    await first;
    const second = client.subscribe('room-b', { includeSenderMetadata: true });
    socket.ackLast();
    await second;
    const dropped = client.subscribe('room-c');
    const gone = client.unsubscribe('room-a');
    socket.serverClose(1006);
    await expect(dropped).rejects.toThrow();
    await expect(gone).rejects.toThrow();

    await vi.advanceTimersByTimeAsync(500);
    const next = factory.last;
    next.welcome();
    const replayed = next.sentFrames;
    expect(replayed).toEqual([
      {
        type: 'subscribe',
        channel: 'room-b',
        requestId: expect.any(String),
        includeSenderMetadata: true,
      },
      { type: 'subscribe', channel: 'room-c', requestId: expect.any(String) },
    ]);
    expect(replayed.map((frame) => frame.requestId)).not.toContain(firstId);
    // The snapshot that follows a replayed subscribe reaches listeners.
    next.deliver(
      { type: 'ack', requestId: replayed[0]!.requestId },
      { type: 'presence', channel: 'room-b', joined: [{ peerId: 'p2' }], left: [] },
    );
    await flush();
    expect(of(Presence).map((event) => event.channel)).toEqual(['room-b']);
  });

  it('retries a failed replay every 2 s, at most 3 times, and keeps the channel', async () => {
    const { client, factory, connect } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('room');
    socket.ackLast();
    await subscribing;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    const next = factory.last.welcome();
    const reject = (): void => {
      next.deliver({
        type: 'error',
        requestId: next.lastSent('subscribe')!.requestId,
        code: 'channel_limit_exceeded',
      });
    };
    reject();
    for (let retry = 1; retry <= 3; retry++) {
      await vi.advanceTimersByTimeAsync(1_999);
      expect(next.sentFrames.filter((frame) => frame.type === 'subscribe')).toHaveLength(retry);
      await vi.advanceTimersByTimeAsync(1);
      expect(next.sentFrames.filter((frame) => frame.type === 'subscribe')).toHaveLength(retry + 1);
      reject();
    }
    await vi.advanceTimersByTimeAsync(60_000);
    const subscribes = next.sentFrames.filter((frame) => frame.type === 'subscribe');
    expect(subscribes).toHaveLength(4);
    expect(new Set(subscribes.map((frame) => frame.requestId)).size).toBe(4);
    // Still tracked: replayed after the next reconnect.
    next.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    factory.last.welcome();
    expect(factory.last.lastSent()).toMatchObject({ type: 'subscribe', channel: 'room' });
  });

  it('retries a replay that timed out', async () => {
    const { client, factory, connect } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('room');
    socket.ackLast();
    await subscribing;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    const next = factory.last.welcome();
    next.deliver({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(15_000 + 2_000);
    expect(next.sentFrames.filter((frame) => frame.type === 'subscribe')).toHaveLength(2);
  });

  it('replays nothing when autoResubscribe is false', async () => {
    const { client, factory, connect } = setup({ autoResubscribe: false });
    const socket = await connect();
    const subscribing = client.subscribe('room');
    socket.ackLast();
    await subscribing;
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    factory.last.welcome();
    expect(factory.last.sent).toEqual([]);
  });

  it('forgets a channel whose subscribe the server rejected', async () => {
    const { client, factory, connect } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('secret');
    socket.deliver({
      type: 'error',
      requestId: socket.lastSent()!.requestId,
      code: 'channel_not_authorized',
    });
    await expect(subscribing).rejects.toThrow();
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    factory.last.welcome();
    expect(factory.last.sent).toEqual([]);
  });
});
