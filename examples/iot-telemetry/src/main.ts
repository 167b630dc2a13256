#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { openDashboard } from './dashboard.js';
import { connectDevice, type Device } from './device.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    site: { type: 'string', default: 'site-1' },
    url: { type: 'string', default: 'ws://127.0.0.1:9292' },
    // The development server's secret key; use your own.
    key: { type: 'string', default: 'sk_id_dev:sk_secret_dev' },
    'interval-ms': { type: 'string', default: '1000' },
  },
});
const [id = '', secret = ''] = values.key.split(':');
const secretKey = { id, secret };
const channel = `telemetry/${values.site}`;
const intervalMs = Number(values['interval-ms']);
const [command, count = '5'] = positionals;

const stopped = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

if (command === 'dashboard') {
  const dashboard = await openDashboard({
    url: values.url,
    secretKey,
    channel,
    silentAfterMs: intervalMs * 5,
    onStatus: (deviceId, status) => console.log(`${deviceId}: ${status}`),
  });
  console.log(`dashboard on ${channel}`);
  const table = setInterval(() => {
    console.table(
      dashboard.summaries().map((device) => ({
        device: device.deviceId,
        location: device.location,
        readings: device.readings,
        '°C now': device.last.temperature.toFixed(1),
        '°C mean': device.meanTemperature.toFixed(1),
        silent: device.silent,
      })),
    );
  }, intervalMs * 2);
  await stopped;
  clearInterval(table);
  await dashboard.close();
} else if (command === 'devices') {
  const devices: Device[] = [];
  for (let index = 1; index <= Number(count); index++) {
    let temperature = 18 + Math.random() * 6;
    devices.push(
      await connectDevice({
        url: values.url,
        secretKey,
        channel,
        deviceId: `sensor-${index}`,
        location: `room ${100 + index}`,
        measure: () => {
          temperature += (Math.random() - 0.5) * 0.4;
          return { temperature, humidity: 40 + Math.random() * 10 };
        },
      }),
    );
  }
  console.log(`${devices.length} devices reporting to ${channel} every ${intervalMs} ms`);
  const timer = setInterval(() => {
    for (const device of devices) {
      device.report().catch((error: unknown) => console.error(String(error)));
    }
  }, intervalMs);
  await stopped;
  clearInterval(timer);
  await Promise.all(devices.map((device) => device.close()));
} else {
  console.error(
    'usage: main.js dashboard | devices [count] [--site S] [--url U] [--key ID:SECRET]',
  );
  process.exitCode = 2;
}
