import * as errors from '@metered/errors';
import { describe, expect, it } from 'vitest';
import * as peer from './index.js';

describe('package surface', () => {
  it('re-exports every error class the peer layer can raise, and the close codes, as the very classes of @metered/errors', () => {
    for (const name of [
      'MeteredRealtimeError',
      'SignallingError',
      'SignallingConnectError',
      'ServerRequestError',
      'AckTimeoutError',
      'DisconnectedError',
      'MeteredPeerSendError',
      'MeteredPeerOversizedError',
      'MeteredPeerStateError',
      'MeteredPeerReplaceTrackError',
      'WsCloseCode',
    ] as const) {
      expect(peer, name).toHaveProperty(name);
      expect((peer as Record<string, unknown>)[name], name).toBe(errors[name]);
    }
  });
});
