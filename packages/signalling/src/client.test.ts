import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flush, setup } from '../test/harness.js';
import {
  AckTimeoutError,
  Connected,
  Direct,
  Disconnected,
  DisconnectedError,
  GoingAway,
  Message,
  Presence,
  ServerError,
  ServerRequestError,
  SIGNALLING_CLIENT_DEFAULTS,
  SignallingClient,
  SignallingConnectError,
  SignallingError,
  StateChange,
} from './index.js';
import { createFakeWebSocketFactory } from './testing/index.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('options', () => {
  const factory = createFakeWebSocketFactory();

  it.each([
    ['neither apiKey nor tokenProvider', {}],
    ['both', { apiKey: 'pk', tokenProvider: () => 't' }],
    ['an empty apiKey', { apiKey: '' }],
    ['a url with a path', { apiKey: 'pk', url: 'wss://example.com/v1' }],
    ['a url with a query', { apiKey: 'pk', url: 'wss://example.com?key=x' }],
    ['a url with a fragment', { apiKey: 'pk', url: 'wss://example.com#x' }],
    ['a url with credentials', { apiKey: 'pk', url: 'wss://user:pass@example.com' }],
    ['ws: on a remote host', { apiKey: 'pk', url: 'ws://example.com' }],
    ['https:', { apiKey: 'pk', url: 'https://example.com' }],
    ['not a url', { apiKey: 'pk', url: 'rms.metered.ca' }],
    ['NaN inactivityTimeoutMs', { apiKey: 'pk', inactivityTimeoutMs: Number.NaN }],
    ['zero tokenProviderTimeoutMs', { apiKey: 'pk', tokenProviderTimeoutMs: 0 }],
    ['reconnect.multiplier < 1', { apiKey: 'pk', reconnect: { multiplier: 0.5 } }],
    ['reconnect.jitterRatio > 1', { apiKey: 'pk', reconnect: { jitterRatio: 2 } }],
    ['reconnect.maxAttempts 0', { apiKey: 'pk', reconnect: { maxAttempts: 0 } }],
    ['reconnect.initialDelayMs < 0', { apiKey: 'pk', reconnect: { initialDelayMs: -1 } }],
  ])('rejects %s with a TypeError', (_, options) => {
    expect(() => new SignallingClient({ webSocketFactory: factory, ...options })).toThrow(
      TypeError,
    );
  });

  it.each([
    ['wss://rms.metered.ca', 'wss://rms.metered.ca/v1?key=pk'],
    ['wss://example.com:443/', 'wss://example.com/v1?key=pk'],
    ['wss://example.com:8443', 'wss://example.com:8443/v1?key=pk'],
    ['ws://localhost:8080', 'ws://localhost:8080/v1?key=pk'],
    ['ws://127.0.0.1:9', 'ws://127.0.0.1:9/v1?key=pk'],
    ['ws://[::1]:9', 'ws://[::1]:9/v1?key=pk'],
  ])('accepts the origin %s and connects to %s', (url, expected) => {
    const sockets = createFakeWebSocketFactory();
    void new SignallingClient({ apiKey: 'pk', url, webSocketFactory: sockets }).connect();
    expect(sockets.last.url).toBe(expected);
  });

  it('URL-encodes the key and defaults to the hosted origin', () => {
    const sockets = createFakeWebSocketFactory();
    void new SignallingClient({ apiKey: 'pk_live_a+b/c= d', webSocketFactory: sockets }).connect();
    expect(sockets.last.url).toBe('wss://rms.metered.ca/v1?key=pk_live_a%2Bb%2Fc%3D%20d');
  });

  it('keeps its defaults in one frozen object', () => {
    expect(Object.isFrozen(SIGNALLING_CLIENT_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(SIGNALLING_CLIENT_DEFAULTS.reconnect)).toBe(true);
    expect(SIGNALLING_CLIENT_DEFAULTS).toEqual({
      url: 'wss://rms.metered.ca',
      reconnect: {
        initialDelayMs: 500,
        multiplier: 2,
        maxDelayMs: 30_000,
        jitterRatio: 0.2,
        maxAttempts: 100,
      },
      inactivityTimeoutMs: 60_000,
      tokenProviderTimeoutMs: 10_000,
      autoResubscribe: true,
    });
  });
});

describe('connect', () => {
  it('resolves on the welcome and emits Connected', async () => {
    const { client, of, factory } = setup();
    expect(client.state).toBe('idle');
    const connecting = client.connect();
    expect(client.state).toBe('connecting');
    factory.last.welcome({
      peerId: 'me',
      expiresAt: 1_900_000_000,
      serverTime: 42,
      maxMessageSize: 1000,
      metadata: { iceServers: [{ urls: 'turn:turn.example.com', username: 'u', credential: 'c' }] },
    });
    await connecting;
    expect(client.state).toBe('connected');
    const [connected] = of(Connected);
    expect({ ...connected }).toEqual({
      peerId: 'me',
      expiresAt: 1_900_000_000,
      serverTime: 42,
      maxMessageSize: 1000,
      isReconnect: false,
      iceServers: [{ urls: 'turn:turn.example.com', username: 'u', credential: 'c' }],
    });
    expect(of(StateChange).map(({ from, to }) => `${from}>${to}`)).toEqual([
      'idle>connecting',
      'connecting>connected',
    ]);
  });

  it.each([
    ['absent', undefined],
    ['invalid', [{ urls: 'http://not-ice' }]],
  ])('reports iceServers as null when %s', async (_, iceServers) => {
    const { client, of, factory } = setup();
    const connecting = client.connect();
    factory.last.welcome(iceServers === undefined ? {} : { metadata: { iceServers } });
    await connecting;
    expect(of(Connected)[0]!.iceServers).toBeNull();
  });

  it('deduplicates concurrent calls and resolves at once when connected', async () => {
    const { client, factory, connect } = setup();
    const first = client.connect();
    expect(client.connect()).toBe(first);
    factory.last.welcome();
    await first;
    await client.connect();
    expect(factory.sockets).toHaveLength(1);
    await connect();
    expect(factory.sockets).toHaveLength(1);
  });

  it('rejects with SignallingConnectError when the socket closes before the welcome', async () => {
    const { client, of, factory } = setup();
    const connecting = client.connect();
    factory.last.open().serverClose(4001, 'invalid token');
    const error = await connecting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SignallingConnectError);
    expect(error).toMatchObject({ closeCode: 4001, closeReason: 'invalid token' });
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => ({ ...event }))).toEqual([
      { code: 4001, reason: 'invalid token', willReconnect: false },
    ]);
    // A failed connect can be retried.
    const again = client.connect();
    factory.last.welcome();
    await again;
    expect(client.state).toBe('connected');
    expect(factory.sockets).toHaveLength(2);
  });

  it('never reconnects after a failed first connect', async () => {
    const { client, factory } = setup();
    const connecting = client.connect().catch(() => undefined);
    factory.last.serverClose(1006);
    await connecting;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(factory.sockets).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects after close()', async () => {
    const { client } = setup();
    await client.close();
    await expect(client.connect()).rejects.toThrow(SignallingError);
  });

  it('ignores a second welcome and frames before the welcome', async () => {
    const { client, of, factory, logged } = setup();
    const connecting = client.connect();
    factory.last.open().deliver({ type: 'message', channel: 'c', from: 'p', data: 1 });
    factory.last.welcome();
    await connecting;
    factory.last.welcome({ peerId: 'other' });
    expect(of(Connected)).toHaveLength(1);
    expect(of(Message)).toHaveLength(0);
    expect(logged()).toMatch(/before welcome/);
    expect(logged()).toMatch(/unexpected welcome/);
  });
});

describe('requests', () => {
  it('sends subscribe, unsubscribe, publish and send frames and resolves on their acks', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const subscribed = client.subscribe('room-1');
    const subscribeFrame = socket.lastSent();
    expect(subscribeFrame).toEqual({
      type: 'subscribe',
      channel: 'room-1',
      requestId: expect.any(String),
    });
    socket.ackLast();
    await subscribed;

    const withMetadata = client.subscribe('room-2', { includeSenderMetadata: true });
    expect(socket.lastSent()).toMatchObject({ includeSenderMetadata: true });
    socket.ackLast();
    await withMetadata;

    const published = client.publish('room-1', { hello: 'world' });
    expect(socket.lastSent()).toEqual({
      type: 'publish',
      channel: 'room-1',
      data: { hello: 'world' },
      requestId: expect.any(String),
    });
    socket.ackLast();
    await published;

    const sent = client.send('peer-2', null);
    expect(socket.lastSent()).toEqual({
      type: 'send',
      to: 'peer-2',
      data: null,
      requestId: expect.any(String),
    });
    socket.ackLast();
    await sent;

    const unsubscribed = client.unsubscribe('room-1');
    expect(socket.lastSent()).toEqual({
      type: 'unsubscribe',
      channel: 'room-1',
      requestId: expect.any(String),
    });
    socket.ackLast();
    await unsubscribed;

    const ids = socket.sentFrames.map((frame) => frame.requestId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rejects with ServerRequestError on a correlated error frame', async () => {
    const { client, connect, of } = setup();
    const socket = await connect();
    const publishing = client.publish('room', 1);
    const requestId = socket.lastSent()!.requestId as string;
    socket.deliver({ type: 'error', requestId, code: 'over_message_quota', message: 'quota' });
    const error = await publishing.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerRequestError);
    expect(error).toMatchObject({ code: 'over_message_quota', requestId });
    expect(of(ServerError)).toHaveLength(0);
    expect(client.state).toBe('connected');
  });

  it('emits ServerError for an uncorrelated error and ignores an uncorrelated unknown_type', async () => {
    const { connect, of } = setup();
    const socket = await connect();
    socket.deliver(
      { type: 'error', code: 'unknown_type', message: 'ping?' },
      { type: 'error', code: 'channel_not_authorized', message: 'no' },
      { type: 'error', code: 'peer_not_found', requestId: 'gone' },
    );
    expect(of(ServerError).map((event) => ({ ...event }))).toEqual([
      { code: 'channel_not_authorized', message: 'no', requestId: null },
      { code: 'peer_not_found', message: null, requestId: 'gone' },
    ]);
  });

  it('rejects a call made while not connected with a plain SignallingError and sends nothing', async () => {
    const { client, factory } = setup();
    const error = await client.publish('room', 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SignallingError);
    expect((error as Error).name).toBe('SignallingError');
    expect(factory.sockets).toHaveLength(0);

    void client.connect();
    await expect(client.subscribe('room')).rejects.toThrow('not connected');
    expect(factory.last.sent).toEqual([]);
  });

  it('rejects requests in flight with DisconnectedError when the socket dies', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const publishing = client.publish('room', 1);
    const sending = client.send('peer', 2);
    socket.serverClose(1006);
    await expect(publishing).rejects.toBeInstanceOf(DisconnectedError);
    await expect(sending).rejects.toBeInstanceOf(DisconnectedError);
    // Called while reconnecting: nothing is sent, so a plain SignallingError, not DisconnectedError.
    expect(client.state).toBe('reconnecting');
    const later = await client.publish('room', 3).catch((caught: unknown) => caught);
    expect(later).toBeInstanceOf(SignallingError);
    expect(later).toMatchObject({ name: 'SignallingError', message: 'not connected' });
    expect(socket.sent).toHaveLength(2);
  });

  it.each([
    ['an empty channel', 'invalid_channel', (client: SignallingClient) => client.subscribe('')],
    [
      'a control character',
      'invalid_channel',
      (client: SignallingClient) => client.publish('a\nb', 1),
    ],
    [
      'a 257-byte channel',
      'invalid_channel',
      (client: SignallingClient) => client.unsubscribe('x'.repeat(257)),
    ],
    [
      'a non-string channel',
      'invalid_channel',
      (client: SignallingClient) => client.publish(7 as never, 1),
    ],
    ['an empty peer id', 'invalid_peer_id', (client: SignallingClient) => client.send('', 1)],
    [
      'a peer id with a newline',
      'invalid_peer_id',
      (client: SignallingClient) => client.send('a\n', 1),
    ],
    [
      'undefined data (publish)',
      'missing_data',
      (client: SignallingClient) => client.publish('room', undefined),
    ],
    [
      'undefined data (send)',
      'missing_data',
      (client: SignallingClient) => client.send('peer', undefined),
    ],
    [
      'a function as data (JSON leaves it out)',
      'missing_data',
      (client: SignallingClient) => client.publish('room', () => 1),
    ],
    ['BigInt data', 'missing_data', (client: SignallingClient) => client.publish('room', 1n)],
  ])(
    'rejects %s with ServerRequestError(%s), without a request id, and sends nothing',
    async (_, code, call) => {
      const { client, connect } = setup();
      const socket = await connect();
      const error = await call(client).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ServerRequestError);
      expect(error).toMatchObject({ name: 'ServerRequestError', code, requestId: null });
      expect(socket.sent).toEqual([]);
    },
  );

  it('refuses bad arguments the same way while not connected, before the state check', async () => {
    const { client } = setup();
    await expect(client.subscribe('a\nb')).rejects.toMatchObject({ code: 'invalid_channel' });
    await expect(client.send('peer', undefined)).rejects.toMatchObject({ code: 'missing_data' });
  });

  it('keeps the cause when data cannot be serialised', async () => {
    const { client, connect } = setup();
    await connect();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const error = (await client.send('peer', cyclic).catch((caught: unknown) => caught)) as Error;
    expect(error).toMatchObject({ code: 'missing_data' });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('runs no client-side size check and lets reserved channels reach the server', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const big = 'x'.repeat(200_000);
    const publishing = client.publish('_metered/room', big);
    expect(socket.lastSent()).toMatchObject({ channel: '_metered/room', data: big });
    socket.ackLast();
    await publishing;
  });

  it('rejects a subscribe with an aborted signal before sending, and stops waiting on abort', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const controller = new AbortController();
    controller.abort(new Error('never mind'));
    await expect(client.subscribe('room', { signal: controller.signal })).rejects.toThrow(
      'never mind',
    );
    expect(socket.sent).toEqual([]);

    const later = new AbortController();
    const subscribing = client.subscribe('room', { signal: later.signal });
    later.abort(new Error('gave up'));
    await expect(subscribing).rejects.toThrow('gave up');
    socket.ackLast();
    await flush();
  });
});

describe('inbound events', () => {
  it('maps message, direct, presence and going_away frames to immutable events', async () => {
    const { connect, of } = setup();
    const socket = await connect();
    socket.deliver(
      { type: 'message', channel: 'room', from: 'p2', data: { n: 1 }, fromMetadata: { name: 'b' } },
      { type: 'message', channel: 'room', from: 'p3', data: null },
      { type: 'direct', from: 'p2', data: 'hi' },
      {
        type: 'presence',
        channel: 'room',
        joined: [{ peerId: 'p2', metadata: { name: 'b' } }, { peerId: 'p3' }],
        left: [{ peerId: 'p4' }],
      },
      { type: 'going_away', retryAfterMs: 2500 },
    );
    expect(of(Message).map((event) => ({ ...event }))).toEqual([
      { channel: 'room', senderPeerId: 'p2', data: { n: 1 }, senderMetadata: { name: 'b' } },
      { channel: 'room', senderPeerId: 'p3', data: null, senderMetadata: null },
    ]);
    expect({ ...of(Direct)[0] }).toEqual({ senderPeerId: 'p2', data: 'hi', senderMetadata: null });
    const presence = of(Presence)[0]!;
    expect(presence.channel).toBe('room');
    expect(presence.joined).toEqual([
      { peerId: 'p2', metadata: { name: 'b' } },
      { peerId: 'p3', metadata: null },
    ]);
    expect(presence.left).toEqual([{ peerId: 'p4', metadata: null }]);
    expect(Object.isFrozen(presence)).toBe(true);
    expect(Object.isFrozen(presence.joined)).toBe(true);
    expect(Object.isFrozen(presence.joined[0])).toBe(true);
    expect(() => {
      (presence as { channel: string }).channel = 'x';
    }).toThrow(TypeError);
    expect(of(GoingAway)[0]!.retryAfterMs).toBe(2500);
  });

  it.each([
    ['0', '0'],
    ['negative', '-5'],
    ['a string', '"2500"'],
    ['a number JSON reads as Infinity', '1e400'],
  ])('reads a GoingAway retryAfterMs that is %s as 1000', async (_, retryAfterMs) => {
    const { connect, of } = setup();
    const socket = await connect();
    socket.deliver(`{"type":"going_away","retryAfterMs":${retryAfterMs}}`);
    expect(of(GoingAway).map((event) => event.retryAfterMs)).toEqual([1000]);
  });

  it('surfaces GoingAway before the 1001 close that follows it', async () => {
    const { connect, events } = setup();
    const socket = await connect();
    socket.deliver({ type: 'going_away' });
    socket.serverClose(1001, 'shutdown');
    const names = events.map((event) => event.constructor.name);
    expect(names.indexOf('GoingAway')).toBeLessThan(names.indexOf('Disconnected'));
    expect((events.find((event) => event instanceof GoingAway) as GoingAway).retryAfterMs).toBe(
      1000,
    );
  });

  it('drops malformed and binary frames, logs them and keeps the connection', async () => {
    const { client, connect, of, logged } = setup();
    const socket = await connect();
    socket.deliver('not json', { type: 'nope' }, { type: 'error', code: 'made_up' }, '[1]');
    socket.deliverBinary();
    socket.deliver({ type: 'direct', from: 'p', data: 1 });
    expect(client.state).toBe('connected');
    expect(of(Direct)).toHaveLength(1);
    expect(of(ServerError)).toHaveLength(0);
    expect(logged()).toMatch(/malformed/);
    expect(logged()).toMatch(/binary/);
  });

  it('closes with 1009 on an inbound frame over 1 MiB and reconnects', async () => {
    const { client, connect, of } = setup();
    const socket = await connect();
    socket.deliver(JSON.stringify({ type: 'direct', from: 'p', data: 'x'.repeat(1_048_576) }));
    expect(socket.closedWith).toEqual({ code: 1009, reason: 'frame exceeded client cap' });
    expect(client.state).toBe('reconnecting');
    expect(of(Disconnected)[0]).toMatchObject({ code: 1009, willReconnect: true });
  });

  it('still closes a browser socket that refuses the 1009 code', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    socket.browserCloseCodes = true;
    socket.deliver(JSON.stringify({ type: 'direct', from: 'p', data: 'x'.repeat(1_048_576) }));
    expect(socket.readyState).toBe(2);
    expect(socket.closedWith).toEqual({ code: undefined, reason: undefined });
    expect(client.state).toBe('reconnecting');
    await flush();
    expect(socket.hasListeners).toBe(false);
  });

  it('keeps emitting when a listener throws, and logs the failure', async () => {
    const { client, connect, logged } = setup();
    const socket = await connect();
    const seen: unknown[] = [];
    client.on(Direct, () => {
      throw new Error('listener bug');
    });
    client.on(Direct, (event) => seen.push(event.data));
    socket.deliver({ type: 'direct', from: 'p', data: 1 }, { type: 'direct', from: 'p', data: 2 });
    expect(seen).toEqual([1, 2]);
    expect(logged()).toMatch(/listener bug/);
  });

  it('supports once and off', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const once = vi.fn();
    const removed = vi.fn();
    const unsubscribed = vi.fn();
    client.once(Direct, once);
    client.on(Direct, removed);
    client.off(Direct, removed);
    const unsubscribe = client.on(Direct, unsubscribed);
    unsubscribe();
    socket.deliver({ type: 'direct', from: 'p', data: 1 }, { type: 'direct', from: 'p', data: 2 });
    expect(once).toHaveBeenCalledTimes(1);
    expect(removed).not.toHaveBeenCalled();
    expect(unsubscribed).not.toHaveBeenCalled();
  });

  it('streams events through events(), ending on close', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const stream = client.events(Direct);
    socket.deliver({ type: 'direct', from: 'p', data: 1 }, { type: 'direct', from: 'p', data: 2 });
    const received: unknown[] = [];
    const consumed = (async () => {
      for await (const event of stream) received.push(event.data);
    })();
    await flush();
    socket.deliver({ type: 'direct', from: 'p', data: 3 });
    await flush();
    const closing = client.close();
    await consumed;
    await closing;
    expect(received).toEqual([1, 2, 3]);
  });

  it('ends an events() stream on abort and bounds its buffer', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const controller = new AbortController();
    const stream = client.events(Direct, { signal: controller.signal, bufferSize: 2 });
    socket.deliver(
      { type: 'direct', from: 'p', data: 1 },
      { type: 'direct', from: 'p', data: 2 },
      { type: 'direct', from: 'p', data: 3 },
    );
    expect((await stream.next()).value?.data).toBe(2);
    expect((await stream.next()).value?.data).toBe(3);
    const pending = stream.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    socket.deliver({ type: 'direct', from: 'p', data: 4 });
    expect((await stream.next()).done).toBe(true);
  });
});

describe('frames delivered in one burst', () => {
  it('lets code that runs when subscribe() resolves see the presence snapshot that follows the ack', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    const snapshots: Presence[] = [];
    let joined = false;
    const joining = client.subscribe('room').then(() => {
      // A higher layer records "joined" here and only then listens for the roster.
      joined = true;
      client.on(Presence, (event) => snapshots.push(event));
    });
    const requestId = socket.lastSent()!.requestId;
    socket.deliver(
      { type: 'ack', requestId },
      { type: 'presence', channel: 'room', joined: [{ peerId: 'p2' }, { peerId: 'p3' }], left: [] },
    );
    await joining;
    await flush();
    expect(joined).toBe(true);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.joined.map((peer) => peer.peerId)).toEqual(['p2', 'p3']);
  });

  it('lets code that runs when connect() resolves see frames that follow the welcome', async () => {
    const { client, factory } = setup();
    const seen: unknown[] = [];
    const connecting = client.connect().then(() => {
      client.on(Direct, (event) => seen.push(event.data));
    });
    factory.last.open();
    factory.last.deliver(
      {
        type: 'welcome',
        peerId: 'me',
        expiresAt: null,
        serverTime: 1,
        maxMessageSize: 65_536,
      },
      { type: 'direct', from: 'p', data: 'first' },
    );
    await connecting;
    await flush();
    expect(seen).toEqual(['first']);
  });

  it('keeps wire order across acks, events and the close', async () => {
    const { client, connect, events } = setup();
    const socket = await connect();
    const order: string[] = [];
    const first = client.publish('room', 1).then(() => order.push('ack 1'));
    const second = client.publish('room', 2).then(() => order.push('ack 2'));
    const [id1, id2] = socket.sentFrames.map((frame) => frame.requestId);
    client.on(Message, (event) => order.push(`message ${String(event.data)}`));
    client.on(Disconnected, () => order.push('disconnected'));
    socket.deliver(
      { type: 'message', channel: 'room', from: 'p', data: 'a' },
      { type: 'ack', requestId: id1 },
      { type: 'message', channel: 'room', from: 'p', data: 'b' },
      { type: 'ack', requestId: id2 },
      { type: 'message', channel: 'room', from: 'p', data: 'c' },
    );
    socket.serverClose(1006);
    // Each settled ack holds the rest of the burst for one task.
    await flush();
    await flush();
    await first;
    await second;
    expect(order).toEqual([
      'message a',
      'ack 1',
      'message b',
      'ack 2',
      'message c',
      'disconnected',
    ]);
    expect(events.filter((event) => event instanceof Message)).toHaveLength(3);
  });
});

describe('close', () => {
  it('is idempotent, terminal, settles requests and leaves no timers or socket listeners', async () => {
    const { client, connect, of } = setup();
    const socket = await connect();
    const subscribing = client.subscribe('room');
    const closing = client.close(4321, 'bye');
    expect(client.close()).toBe(closing);
    await expect(subscribing).rejects.toBeInstanceOf(DisconnectedError);
    await closing;
    expect(socket.closedWith).toEqual({ code: 4321, reason: 'bye' });
    expect(client.state).toBe('closed');
    expect(of(Disconnected).map((event) => ({ ...event }))).toEqual([
      { code: 4321, reason: 'bye', willReconnect: false },
    ]);
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.hasListeners).toBe(false);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(client.state).toBe('closed');
  });

  it('resolves after 1 s when the socket never reports its close', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    socket.holdClose = true;
    let closed = false;
    void client.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.hasListeners).toBe(false);
  });

  it('uses code 1000 by default and works as an async disposable', async () => {
    const { client, connect } = setup();
    const socket = await connect();
    await client[Symbol.asyncDispose]();
    expect(socket.closedWith?.code).toBe(1000);
  });

  it('stops a pending connect, also while reconnecting', async () => {
    const { client, connect, factory } = setup();
    const socket = await connect();
    socket.serverClose(1006);
    const reconnecting = client.connect();
    expect(client.state).toBe('reconnecting');
    await client.close();
    await expect(reconnecting).rejects.toBeInstanceOf(SignallingError);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(factory.sockets).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closing an idle client emits no Disconnected', async () => {
    const { client, of } = setup();
    await client.close();
    expect(client.state).toBe('closed');
    expect(of(Disconnected)).toHaveLength(0);
  });

  it('settles a pending request with DisconnectedError, never AckTimeoutError', async () => {
    const { client, connect } = setup();
    await connect();
    const publishing = client.publish('room', 1).catch((caught: unknown) => caught);
    await client.close();
    await vi.advanceTimersByTimeAsync(20_000);
    const error = await publishing;
    expect(error).toBeInstanceOf(DisconnectedError);
    expect(error).not.toBeInstanceOf(AckTimeoutError);
  });
});

describe('secrets', () => {
  it('never logs the key or the token', async () => {
    const key = { setup: setup({ apiKey: 'pk_live_SECRETKEY' }) };
    await key.setup.connect();
    const token = {
      setup: setup({ tokenProvider: () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.SIGNATURE' }),
    };
    await token.setup.connect();
    const logs = key.setup.logged() + token.setup.logged();
    expect(logs).toMatch(/key=\[redacted\]/);
    expect(logs).not.toMatch(/SECRETKEY|SIGNATURE|eyJ/);
  });

  it('keeps a token that appears in a close reason out of the error JSON', async () => {
    const { client, factory } = setup();
    const connecting = client.connect();
    factory.last.serverClose(4001, 'rejected /v1?token=abc.def.ghi and eyJhbGci.eyJzdWIi.c2ln');
    const error = (await connecting.catch((caught: unknown) => caught)) as SignallingConnectError;
    expect(JSON.stringify(error)).not.toMatch(/abc\.def\.ghi|eyJ/);
    expect(error.message).not.toMatch(/abc\.def\.ghi|eyJ/);
  });
});
