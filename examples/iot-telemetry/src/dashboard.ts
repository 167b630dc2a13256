import { Message, SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import { isReading, type Reading } from './reading.js';
import { mintToken, type SecretKey } from './token.js';

export interface DashboardOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  readonly channel: string;
  /** A device with no reading for this long is reported silent. Default 30 s. */
  readonly silentAfterMs?: number;
  /** Called when a device goes silent, and when a silent device reports again. */
  readonly onStatus?: (deviceId: string, status: 'silent' | 'back') => void;
}

/** What the dashboard knows about one device. */
export interface DeviceSummary {
  readonly deviceId: string;
  readonly location: string | null;
  readonly readings: number;
  readonly last: Reading;
  readonly minTemperature: number;
  readonly maxTemperature: number;
  readonly meanTemperature: number;
  readonly silent: boolean;
}

export interface Dashboard {
  /** One summary per device heard from, by device id. */
  summaries(): DeviceSummary[];
  /** Readings received in total. */
  readonly received: number;
  close(): Promise<void>;
}

interface DeviceState {
  location: string | null;
  readings: number;
  last: Reading;
  lastHeard: number;
  min: number;
  max: number;
  sum: number;
  silent: boolean;
}

/**
 * The fan-in side: one subscription to the site's channel receives every device's readings,
 * each with the device's metadata (`includeSenderMetadata`). A timer marks devices silent.
 */
export async function openDashboard(options: DashboardOptions): Promise<Dashboard> {
  const silentAfterMs = options.silentAfterMs ?? 30_000;
  const devices = new Map<string, DeviceState>();
  let received = 0;

  const client = new SignallingClient({
    url: options.url,
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        { peerId: 'dashboard', channels: [options.channel], permissions: ['subscribe'] },
        signal,
      ),
    webSocketFactory: (url) => new WebSocket(url),
  });

  client.on(Message, ({ senderPeerId, senderMetadata, data }) => {
    if (!isReading(data)) return;
    received += 1;
    const location = typeof senderMetadata?.location === 'string' ? senderMetadata.location : null;
    const state = devices.get(senderPeerId);
    if (!state) {
      devices.set(senderPeerId, {
        location,
        readings: 1,
        last: data,
        lastHeard: Date.now(),
        min: data.temperature,
        max: data.temperature,
        sum: data.temperature,
        silent: false,
      });
      return;
    }
    state.readings += 1;
    state.last = data;
    state.lastHeard = Date.now();
    state.min = Math.min(state.min, data.temperature);
    state.max = Math.max(state.max, data.temperature);
    state.sum += data.temperature;
    if (state.silent) {
      state.silent = false;
      options.onStatus?.(senderPeerId, 'back');
    }
  });

  const watchdog = setInterval(
    () => {
      const now = Date.now();
      for (const [deviceId, state] of devices) {
        if (!state.silent && now - state.lastHeard > silentAfterMs) {
          state.silent = true;
          options.onStatus?.(deviceId, 'silent');
        }
      }
    },
    Math.max(silentAfterMs / 4, 10),
  );

  try {
    await client.connect();
    await client.subscribe(options.channel, { includeSenderMetadata: true });
  } catch (error) {
    clearInterval(watchdog);
    await client.close();
    throw error;
  }

  return {
    summaries: () =>
      [...devices].map(([deviceId, state]) => ({
        deviceId,
        location: state.location,
        readings: state.readings,
        last: state.last,
        minTemperature: state.min,
        maxTemperature: state.max,
        meanTemperature: state.sum / state.readings,
        silent: state.silent,
      })),
    get received() {
      return received;
    },
    async close() {
      clearInterval(watchdog);
      await client.close();
    },
  };
}
