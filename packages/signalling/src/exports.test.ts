import * as errors from '@metered/errors';
import { describe, expect, it } from 'vitest';
import * as signalling from './index.js';
import * as testing from './testing/index.js';

describe('package surface', () => {
  it('exports the client, its event classes, defaults and the errors it raises', () => {
    expect(Object.keys(signalling).sort()).toEqual([
      'AckTimeoutError',
      'Connected',
      'DEFAULT_RECONNECT',
      'Direct',
      'Disconnected',
      'DisconnectedError',
      'GoingAway',
      'Message',
      'MeteredRealtimeError',
      'Presence',
      'Resubscribed',
      'SIGNALLING_CLIENT_DEFAULTS',
      'ServerError',
      'ServerRequestError',
      'SignallingClient',
      'SignallingConnectError',
      'SignallingError',
      'SignallingEvent',
      'StateChange',
      'SubscriptionEnded',
      'TokenProviderError',
      'WsCloseCode',
    ]);
    expect(Object.keys(testing).sort()).toEqual([
      'BrowserLikeWebSocket',
      'FakeWebSocket',
      'createBrowserLikeWebSocketFactory',
      'createFakeWebSocketFactory',
    ]);
  });

  it('re-exports the very classes of @metered/errors, not copies', () => {
    for (const name of [
      'MeteredRealtimeError',
      'SignallingError',
      'SignallingConnectError',
      'ServerRequestError',
      'AckTimeoutError',
      'DisconnectedError',
      'WsCloseCode',
    ] as const) {
      expect(signalling[name]).toBe(errors[name]);
    }
  });
});
