import * as errors from '@metered/errors';
import { describe, expect, it } from 'vitest';
import * as datachannel from './index.js';

describe('package surface', () => {
  it('exports the wrapper, its event classes, defaults and the errors it raises', () => {
    expect(Object.keys(datachannel).sort()).toEqual([
      'DATA_CHANNEL_DEFAULTS',
      'DCClose',
      'DCError',
      'DCMessage',
      'DCOpen',
      'DataChannel',
      'DataChannelOverflowError',
      'MeteredRealtimeError',
      'payloadSize',
    ]);
  });

  it('re-exports the very classes of @metered/errors, not copies', () => {
    for (const name of ['DataChannelOverflowError', 'MeteredRealtimeError'] as const) {
      expect(datachannel[name]).toBe(errors[name]);
    }
  });
});
