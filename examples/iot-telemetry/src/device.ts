import { SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import type { Reading } from './reading.js';
import { mintToken, type SecretKey } from './token.js';

export interface DeviceOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  /** The channel every device of a site publishes to, e.g. `telemetry/site-1`. */
  readonly channel: string;
  readonly deviceId: string;
  /** Shown to the dashboard with every reading. */
  readonly location: string;
  /** Takes one measurement. */
  readonly measure: () => Omit<Reading, 'at'>;
}

export interface Device {
  /** Measures and publishes one reading; resolves once the server accepted it. */
  report(): Promise<Reading>;
  close(): Promise<void>;
}

/**
 * A device: one connection whose token may only publish, on one channel. It cannot subscribe,
 * so it never receives the other devices' readings, and it is not listed in presence.
 */
export async function connectDevice(options: DeviceOptions): Promise<Device> {
  const client = new SignallingClient({
    url: options.url,
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        {
          peerId: options.deviceId,
          channels: [options.channel],
          permissions: ['publish'],
          peerMetadata: { location: options.location },
        },
        signal,
      ),
    webSocketFactory: (url) => new WebSocket(url),
  });
  await client.connect();
  return {
    async report() {
      const reading: Reading = { ...options.measure(), at: Date.now() };
      await client.publish(options.channel, reading);
      return reading;
    },
    close: () => client.close(),
  };
}
