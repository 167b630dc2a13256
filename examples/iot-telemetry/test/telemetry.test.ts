import { DEFAULT_CONFIG, DEV_CREDENTIALS, startServer } from '@metered/server';
import { ServerRequestError, SignallingClient } from '@metered/signalling';
import { afterEach, describe, expect, it } from 'vitest';
import { openDashboard } from '../src/dashboard.js';
import { connectDevice, type Device } from '../src/device.js';
import { mintToken } from '../src/token.js';

const secretKey = { id: DEV_CREDENTIALS.secretKeyId, secret: DEV_CREDENTIALS.secretKey };
const channel = 'telemetry/site-1';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out: ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

describe('telemetry fan-in', () => {
  it('one dashboard aggregates the readings of every device and notices a silent one', async () => {
    const server = await startServer({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    const statuses: string[] = [];
    const dashboard = await openDashboard({
      url: server.url,
      secretKey,
      channel,
      silentAfterMs: 1_000,
      onStatus: (deviceId, status) => statuses.push(`${deviceId} ${status}`),
    });
    cleanups.push(() => dashboard.close());

    const devices: Device[] = [];
    for (let index = 0; index < 8; index++) {
      let step = 0;
      const device = await connectDevice({
        url: server.url,
        secretKey,
        channel,
        deviceId: `sensor-${index}`,
        location: `room ${index}`,
        // Device i reads i, i + 1, i + 2, …
        measure: () => ({ temperature: index + step++, humidity: 50 }),
      });
      cleanups.push(() => device.close());
      devices.push(device);
    }

    for (let round = 0; round < 5; round++) {
      await Promise.all(devices.map((device) => device.report()));
    }
    await waitFor(() => dashboard.received === 40, 'every reading');
    const summaries = dashboard.summaries().sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    expect(summaries).toHaveLength(8);
    summaries.forEach((summary, index) => {
      expect(summary).toMatchObject({
        deviceId: `sensor-${index}`,
        location: `room ${index}`,
        readings: 5,
        minTemperature: index,
        maxTemperature: index + 4,
        meanTemperature: index + 2,
        silent: false,
      });
    });

    // Seven devices keep reporting; sensor-0 goes quiet and is reported silent, then comes back.
    const others = devices.slice(1);
    const inFlight = new Set<Promise<unknown>>();
    const reporting = setInterval(() => {
      const round = Promise.all(others.map((device) => device.report()));
      inFlight.add(round);
      const settle = (): boolean => inFlight.delete(round);
      round.then(settle, settle);
    }, 50);
    cleanups.push(async () => {
      clearInterval(reporting);
      await Promise.all(inFlight);
    });
    await waitFor(() => statuses.includes('sensor-0 silent'), 'sensor-0 to be reported silent');
    expect(statuses).toEqual(['sensor-0 silent']);
    await devices[0]!.report();
    await waitFor(() => statuses.includes('sensor-0 back'), 'sensor-0 to be back');
  });

  it("a device's token may only publish: subscribing to the readings is refused", async () => {
    const server = await startServer({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    // The same token a device gets (src/device.ts), used by a client that tries to listen.
    const token = await mintToken(server.url, secretKey, {
      peerId: 'sensor-x',
      channels: [channel],
      permissions: ['publish'],
    });
    const client = new SignallingClient({ url: server.url, tokenProvider: () => token });
    cleanups.push(() => client.close());
    await client.connect();
    await client.publish(channel, { temperature: 1, humidity: 1, at: 0 });
    const refused = await client.subscribe(channel).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ServerRequestError);
    expect((refused as ServerRequestError).code).toBe('action_not_permitted');
  });
});
