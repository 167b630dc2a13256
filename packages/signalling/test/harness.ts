import { vi } from 'vitest';
import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  Resubscribed,
  ServerError,
  SignallingClient,
  type EventClass,
  type SignallingClientOptions,
  type SignallingEvent,
  StateChange,
  SubscriptionEnded,
  TokenProviderError,
} from '../src/index.js';
import {
  createFakeWebSocketFactory,
  type FakeWebSocket,
  type FakeWelcome,
} from '../src/testing/index.js';

export const EVENT_CLASSES: readonly EventClass<SignallingEvent>[] = [
  Connected,
  Disconnected,
  StateChange,
  Message,
  Direct,
  Presence,
  ServerError,
  GoingAway,
  TokenProviderError,
  Resubscribed,
  SubscriptionEnded,
];

/** A client on a fake socket factory, with every event recorded and a jitter-free backoff. */
export function setup(options: Partial<SignallingClientOptions> = {}) {
  const factory = createFakeWebSocketFactory();
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const client = new SignallingClient({
    apiKey: 'pk_test_secret',
    webSocketFactory: factory,
    logger,
    random: () => 0.5,
    ...(options.tokenProvider ? { apiKey: undefined } : {}),
    ...options,
  });
  const events: SignallingEvent[] = [];
  for (const type of EVENT_CLASSES) client.on(type, (event) => events.push(event));
  const of = <T extends SignallingEvent>(type: abstract new (...args: never[]) => T): T[] =>
    events.filter((event): event is T => event instanceof type);
  /** Connects and delivers the welcome (with `welcome`'s fields); returns the socket. */
  const connect = async (welcome?: FakeWelcome): Promise<FakeWebSocket> => {
    const connected = client.connect();
    await vi.advanceTimersByTimeAsync(0);
    factory.last.welcome(welcome);
    await connected;
    return factory.last;
  };
  /** Every line the logger received, joined. */
  const logged = (): string =>
    Object.values(logger)
      .flatMap((fn) => fn.mock.calls.map((call) => call.join(' ')))
      .join('\n');
  return { client, factory, logger, events, of, connect, logged };
}

/**
 * Lets pending promise continuations and zero-delay tasks run (fake timers only run a task queued
 * during a previous advance once the clock moves, hence 1 ms).
 */
export async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(1);
}

/** The server drops the connection (1006); the client reconnects and gets `welcome`. */
export async function reconnect(
  socket: FakeWebSocket,
  factory: { readonly last: FakeWebSocket },
  welcome?: FakeWelcome,
): Promise<FakeWebSocket> {
  socket.serverClose(1006);
  await vi.advanceTimersByTimeAsync(500);
  return factory.last.welcome(welcome);
}
