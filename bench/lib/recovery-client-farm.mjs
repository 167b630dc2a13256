// Child process: N SignallingClients (our SDK), each subscribed with `{ recover: true }` to one
// of `rooms` channels on which a publisher sends `{n}` numbered 1, 2, 3… It records, per client,
// when it was connected again after the parent says the node was killed, when its channel was
// `Resubscribed` (and whether `recovered`), and every `n` it received with the time. The parent
// hands it the publisher's acknowledgements (`[room, n, ackedAt]`); from them it tells when each
// client holds every message acknowledged up to its resubscribe (caught up) and, at the end,
// whether each client got exactly the acknowledged messages, once each, in order.
import { Connected, Message, Resubscribed, SignallingClient } from '@metered/signalling';
import WebSocket from 'ws';
import { nowMicros, percentile, serveRpc } from './common.mjs';

const clients = [];
/** room → `[n, ackedAt]` in acknowledgement order. */
const acked = new Map();
let epoch = 0;

function ackedOf(room) {
  let list = acked.get(room);
  if (!list) acked.set(room, (list = []));
  return list;
}

/** When the client holds every message acknowledged up to its resubscribe; 0 while it does not. */
function caughtUpAt(record) {
  if (record.resubscribedAt === 0) return 0;
  let latest = record.resubscribedAt;
  for (const [n, ackedAt] of ackedOf(record.room)) {
    if (ackedAt > record.resubscribedAt) continue;
    const receivedAt = record.receivedAt.get(n);
    if (receivedAt === undefined) return 0;
    latest = Math.max(latest, receivedAt);
  }
  return latest;
}

serveRpc({
  async start({ base, count, rooms, prefix, concurrency = 100 }) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const room = index % rooms;
        const channel = `${prefix}-${room}`;
        const client = new SignallingClient({
          apiKey: 'pk_bench_presence',
          url: base,
          webSocketFactory: (url) => new WebSocket(url, { perMessageDeflate: false }),
        });
        const record = {
          client,
          room,
          channel,
          epoch: 0,
          reconnectedAt: 0,
          resumed: false,
          resubscribedAt: 0,
          recovered: false,
          caughtUpAt: 0,
          received: [],
          receivedAt: new Map(),
        };
        client.on(Connected, (event) => {
          if (event.isReconnect && record.epoch !== epoch) {
            record.epoch = epoch;
            record.reconnectedAt = nowMicros();
            record.resumed = event.resumed === true;
          }
        });
        client.on(Resubscribed, (event) => {
          if (event.channel === channel && record.epoch === epoch && record.resubscribedAt === 0) {
            record.resubscribedAt = nowMicros();
            record.recovered = event.recovered;
          }
        });
        client.on(Message, (event) => {
          const n = event.data?.n;
          if (event.channel !== channel || typeof n !== 'number') return;
          record.received.push(n);
          if (!record.receivedAt.has(n)) record.receivedAt.set(n, nowMicros());
        });
        clients.push(record);
        await client.connect();
        await client.subscribe(channel, { recover: true });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return clients.length;
  },
  killed() {
    epoch++;
    return epoch;
  },
  /** Takes new acknowledgements `[[room, n, ackedAt], …]` and answers the counts. */
  status({ acks = [] } = {}) {
    for (const [room, n, ackedAt] of acks) ackedOf(room).push([n, ackedAt]);
    let connected = 0;
    let reconnected = 0;
    let resubscribed = 0;
    let recovered = 0;
    let caughtUp = 0;
    let lastReconnectedAt = 0;
    let lastResubscribedAt = 0;
    let lastCaughtUpAt = 0;
    let resumed = 0;
    const reconnectTimes = [];
    for (const record of clients) {
      if (record.client.state === 'connected') connected++;
      if (record.reconnectedAt > 0) {
        reconnected++;
        if (record.resumed) resumed++;
        reconnectTimes.push(record.reconnectedAt);
        lastReconnectedAt = Math.max(lastReconnectedAt, record.reconnectedAt);
      }
      if (record.resubscribedAt > 0) {
        resubscribed++;
        if (record.recovered) recovered++;
        lastResubscribedAt = Math.max(lastResubscribedAt, record.resubscribedAt);
      }
      if (record.caughtUpAt === 0) record.caughtUpAt = caughtUpAt(record);
      if (record.caughtUpAt > 0) {
        caughtUp++;
        lastCaughtUpAt = Math.max(lastCaughtUpAt, record.caughtUpAt);
      }
    }
    reconnectTimes.sort((a, b) => a - b);
    return {
      count: clients.length,
      resumed,
      p50ReconnectedAt: percentile(reconnectTimes, 50),
      p90ReconnectedAt: percentile(reconnectTimes, 90),
      connected,
      reconnected,
      resubscribed,
      recovered,
      caughtUp,
      lastReconnectedAt,
      lastResubscribedAt,
      lastCaughtUpAt,
    };
  },
  /** How many clients have received the last acknowledged message of their channel. */
  complete() {
    let complete = 0;
    for (const record of clients) {
      const list = ackedOf(record.room);
      if (list.length === 0 || record.receivedAt.has(list.at(-1)[0])) complete++;
    }
    return complete;
  },
  /**
   * Every client must have received exactly its channel's acknowledged messages, each once, in
   * publish order (ascending `n`). Answers the number of clients in violation and the first few.
   */
  verify({ limit = 20 } = {}) {
    const expected = new Map();
    for (const [room, list] of acked)
      expected.set(
        room,
        list.map(([n]) => n).sort((a, b) => a - b),
      );
    const violations = [];
    let clientsInViolation = 0;
    for (const [index, record] of clients.entries()) {
      const want = expected.get(record.room) ?? [];
      const got = record.received;
      const problems = [];
      const wanted = new Set(want);
      const seen = new Set();
      let duplicates = 0;
      let unexpected = 0;
      let outOfOrder = 0;
      for (let i = 0; i < got.length; i++) {
        if (seen.has(got[i])) duplicates++;
        seen.add(got[i]);
        if (!wanted.has(got[i])) unexpected++;
        if (i > 0 && got[i] <= got[i - 1]) outOfOrder++;
      }
      const missing = want.filter((n) => !seen.has(n));
      if (missing.length) problems.push(`${missing.length} missing (first n=${missing[0]})`);
      if (duplicates) problems.push(`${duplicates} duplicates`);
      if (outOfOrder) problems.push(`${outOfOrder} out of order`);
      if (unexpected) problems.push(`${unexpected} never acknowledged`);
      if (problems.length) {
        clientsInViolation++;
        if (violations.length < limit) {
          violations.push(`client ${index} (${record.channel}): ${problems.join(', ')}`);
        }
      }
    }
    return { clientsInViolation, violations };
  },
  async close() {
    await Promise.all(clients.map((record) => record.client.close()));
    return true;
  },
});
process.send?.({ ready: true });
