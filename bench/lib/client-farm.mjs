// Child process: N SignallingClients (our SDK) on the benchmark app, each subscribed to one of
// `rooms` channels. It records, per client, when it was connected again after the parent says
// the server was killed, and when its channel's presence snapshot came back (resubscribed).
import { Connected, Message, Presence, SignallingClient } from '@metered/signalling';
import WebSocket from 'ws';
import { nowMicros, serveRpc } from './common.mjs';

const clients = [];
let epoch = 0;

serveRpc({
  async start({ base, count, rooms, concurrency = 100 }) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const channel = `room-${index % rooms}`;
        const client = new SignallingClient({
          apiKey: 'pk_bench_presence',
          url: base,
          webSocketFactory: (url) => new WebSocket(url, { perMessageDeflate: false }),
        });
        const record = { client, channel, reconnectedAt: 0, resubscribedAt: 0, probe: 0, epoch: 0 };
        client.on(Connected, (event) => {
          if (event.isReconnect && record.epoch !== epoch) {
            record.epoch = epoch;
            record.reconnectedAt = nowMicros();
          }
        });
        client.on(Presence, (event) => {
          if (event.channel === channel && record.epoch === epoch && record.resubscribedAt === 0) {
            record.resubscribedAt = nowMicros();
          }
        });
        client.on(Message, (event) => {
          if (event.channel === channel && typeof event.data?.probe === 'number') {
            record.probe = Math.max(record.probe, event.data.probe);
          }
        });
        clients.push(record);
        await client.connect();
        await client.subscribe(channel);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return clients.length;
  },
  killed() {
    epoch++;
    for (const record of clients) {
      record.reconnectedAt = 0;
      record.resubscribedAt = 0;
    }
    return epoch;
  },
  status({ probe = -1 } = {}) {
    let connected = 0;
    let reconnected = 0;
    let resubscribed = 0;
    let probed = 0;
    let lastReconnectedAt = 0;
    let lastResubscribedAt = 0;
    const states = {};
    for (const record of clients) {
      const { state } = record.client;
      states[state] = (states[state] ?? 0) + 1;
      if (state === 'connected') connected++;
      if (record.reconnectedAt > 0) {
        reconnected++;
        lastReconnectedAt = Math.max(lastReconnectedAt, record.reconnectedAt);
      }
      if (record.resubscribedAt > 0) {
        resubscribed++;
        lastResubscribedAt = Math.max(lastResubscribedAt, record.resubscribedAt);
      }
      if (record.probe >= probe) probed++;
    }
    return {
      count: clients.length,
      connected,
      reconnected,
      resubscribed,
      probed,
      lastReconnectedAt,
      lastResubscribedAt,
      states,
    };
  },
  async close() {
    await Promise.all(clients.map((record) => record.client.close()));
    return true;
  },
});
process.send?.({ ready: true });
