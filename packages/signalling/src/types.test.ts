import { describe, expectTypeOf, it } from 'vitest';
import {
  AckTimeoutError,
  Connected,
  Direct,
  Disconnected,
  type ErrorCode,
  GoingAway,
  type IceServerConfig,
  type JsonObject,
  Message,
  Presence,
  type PresencePeer,
  type PublishResult,
  type RecoveringSubscribeOptions,
  type SubscribeResult,
  ServerError,
  ServerRequestError,
  SignallingClient,
  type SignallingState,
  StateChange,
  TokenProviderError,
} from './index.js';
import { createFakeWebSocketFactory } from './testing/index.js';

const client = new SignallingClient({
  apiKey: 'pk',
  webSocketFactory: createFakeWebSocketFactory(),
});

describe('types', () => {
  it('infers the event type from the class', () => {
    expectTypeOf(
      client.on(Message, (event) => expectTypeOf(event).toEqualTypeOf<Message>()),
    ).toEqualTypeOf<() => void>();
    client.on(Message, (event) => {
      expectTypeOf(event.channel).toEqualTypeOf<string>();
      expectTypeOf(event.senderPeerId).toEqualTypeOf<string>();
      expectTypeOf(event.data).toEqualTypeOf<unknown>();
      expectTypeOf(event.senderMetadata).toEqualTypeOf<JsonObject | null>();
    });
    client.on(Direct, (event) => expectTypeOf(event).toEqualTypeOf<Direct>());
    client.on(Presence, (event) => {
      expectTypeOf(event.joined).toEqualTypeOf<readonly PresencePeer[]>();
    });
    client.once(Connected, (event) => {
      expectTypeOf(event.iceServers).toEqualTypeOf<readonly IceServerConfig[] | null>();
      expectTypeOf(event.expiresAt).toEqualTypeOf<number | null>();
    });
    client.on(Disconnected, (event) => expectTypeOf(event.willReconnect).toEqualTypeOf<boolean>());
    client.on(StateChange, (event) => expectTypeOf(event.to).toEqualTypeOf<SignallingState>());
    client.on(ServerError, (event) => expectTypeOf(event.code).toEqualTypeOf<ErrorCode>());
    client.on(GoingAway, (event) => expectTypeOf(event.retryAfterMs).toEqualTypeOf<number>());
    client.on(TokenProviderError, (event) =>
      expectTypeOf(event.consecutiveFailures).toEqualTypeOf<number>(),
    );
    // @ts-expect-error a Message handler cannot take a Direct
    client.on(Direct, (event: Message) => event);
    // @ts-expect-error only event classes are accepted
    client.on(Date, () => {});
  });

  it('streams typed events', async () => {
    const stream = client.events(Message, { signal: AbortSignal.timeout(1) });
    expectTypeOf(stream).toEqualTypeOf<AsyncIterableIterator<Message>>();
    for await (const event of stream) expectTypeOf(event).toEqualTypeOf<Message>();
  });

  it('narrows errors', () => {
    const error: unknown = undefined;
    if (error instanceof ServerRequestError) {
      expectTypeOf(error.code).toEqualTypeOf<ErrorCode>();
      expectTypeOf(error.requestId).toEqualTypeOf<string | null>();
    }
    if (error instanceof AckTimeoutError) expectTypeOf(error.timeout).toEqualTypeOf<number>();
    expectTypeOf(client.state).toEqualTypeOf<SignallingState>();
    // One overload per result: recovery options resolve to a SubscribeResult, the others to void.
    expectTypeOf(client.subscribe).parameter(1).toEqualTypeOf<
      | {
          readonly includeSenderMetadata?: boolean | undefined;
          readonly signal?: AbortSignal | undefined;
        }
      | RecoveringSubscribeOptions
      | undefined
    >();
    // Never called: the calls are only type-checked.
    const calls = (): void => {
      expectTypeOf(client.subscribe('c')).toEqualTypeOf<Promise<void>>();
      expectTypeOf(client.subscribe('c', { includeSenderMetadata: true })).toEqualTypeOf<
        Promise<void>
      >();
      expectTypeOf(client.subscribe('c', { recover: true })).toEqualTypeOf<
        Promise<SubscribeResult>
      >();
      expectTypeOf(client.subscribe('c', { since: { offset: 1, epoch: 'e' } })).toEqualTypeOf<
        Promise<SubscribeResult>
      >();
      expectTypeOf(client.publish('c', 1)).toEqualTypeOf<Promise<void>>();
      expectTypeOf(client.publish('c', 1, { idempotencyKey: 'k' })).toEqualTypeOf<
        Promise<PublishResult>
      >();
      expectTypeOf(client.send('p', 1, {})).toEqualTypeOf<Promise<PublishResult>>();
    };
    expectTypeOf(calls).toBeFunction();
  });
});
