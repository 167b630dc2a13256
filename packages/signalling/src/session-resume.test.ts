import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, reconnect, setup } from '../test/harness.js';
import { Connected } from './index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const RESUME = { extensions: { resume: { windowMs: 15_000 }, recovery: {} } };
const RESUMED = { extensions: { resume: { windowMs: 15_000, resumed: true }, recovery: {} } };

describe('resume not advertised', () => {
  it('sends nothing after the welcome and never adds resume to the URL', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect();
    expect(socket.sent).toEqual([]);
    expect(of(Connected)[0]).not.toHaveProperty('resumed');
    const next = await reconnect(socket, factory);
    expect(next.url).toBe('wss://rms.metered.ca/v1?key=pk_test_secret');
    expect(client.state).toBe('connected');
  });
});

describe('resume advertised', () => {
  it('asks for a session first, reconnects with its token and resubscribes from the held position', async () => {
    const { client, factory, connect, of } = setup();
    const socket = await connect(RESUME);
    expect(socket.sentFrames).toEqual([{ type: 'session', requestId: expect.any(String) }]);
    socket.ackLast('session', { resumeToken: 'r+t/1=', windowMs: 15_000 });
    await flush();
    const subscribing = client.subscribe('room', { recover: true });
    socket.ackLast('subscribe', { position: { offset: 4, epoch: 'e1' } });
    await subscribing;

    const next = await reconnect(socket, factory, { ...RESUMED, peerId: 'peer-1' });
    expect(next.url).toBe('wss://rms.metered.ca/v1?key=pk_test_secret&resume=r%2Bt%2F1%3D');
    expect(next.sentFrames).toEqual([
      { type: 'session', requestId: expect.any(String) },
      {
        type: 'subscribe',
        channel: 'room',
        requestId: expect.any(String),
        since: { offset: 4, epoch: 'e1' },
      },
    ]);
    expect(
      of(Connected).map(({ peerId, isReconnect, resumed }) => [peerId, isReconnect, resumed]),
    ).toEqual([
      ['peer-1', false, false],
      ['peer-1', true, true],
    ]);
  });

  it('uses a token once: an attempt that fails before its welcome leaves the next one without it', async () => {
    const { factory, connect } = setup({ tokenProvider: () => 'jwt' });
    const socket = await connect(RESUME);
    socket.ackLast('session', { resumeToken: 'once', windowMs: 15_000 });
    socket.serverClose(1006);
    await vi.advanceTimersByTimeAsync(500);
    expect(factory.last.url).toBe('wss://rms.metered.ca/v1?token=jwt&resume=once');
    factory.last.serverClose(1006);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(factory.sockets).toHaveLength(3);
    expect(factory.last.url).toBe('wss://rms.metered.ca/v1?token=jwt');
  });

  it('drops the token on close(): the next connect() starts fresh', async () => {
    const { client, factory, connect } = setup();
    const socket = await connect(RESUME);
    socket.ackLast('session', { resumeToken: 'held', windowMs: 15_000 });
    await client.close();
    const again = client.connect().catch(() => undefined);
    await flush();
    expect(factory.last.url).toBe('wss://rms.metered.ca/v1?key=pk_test_secret');
    await client.close();
    await again;
  });

  it('reconnects without resume when the session was never acked', async () => {
    const { factory, connect } = setup();
    const socket = await connect(RESUME);
    const next = await reconnect(socket, factory, RESUME);
    expect(next.url).toBe('wss://rms.metered.ca/v1?key=pk_test_secret');
  });
});
