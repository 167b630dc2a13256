import { PROTOCOL_TIMEOUTS } from '@metered/protocol';
import { expect } from 'vitest';
import { redisLeftovers } from './broker.js';
import { bearer, type SecretKey } from './credentials.js';
import { httpRequest } from './http.js';
import type { ServerProcess, ServerStats } from './server-process.js';
import { eventually } from './wait.js';
import type { RequestRecord, Workload } from './workload.js';

/**
 * Slack on top of the client's 15 s ack timeout for "no request settles later than the ack
 * timeout": the timer's own lateness on a loaded 2-core machine. The client's contract is that a
 * request never waits for an answer longer than the ack timeout; this is not a speed threshold
 * (requests normally settle in milliseconds), it bounds how late the client's own timer may fire.
 */
export const SETTLE_MARGIN_MS = 3_000;
export const SETTLE_BOUND_MS = PROTOCOL_TIMEOUTS.ackTimeoutMs + SETTLE_MARGIN_MS;

/**
 * Server heap after a full GC, back near where it started. V8's heap at rest moves by a few MiB
 * between measurements (code caches, inline caches, prom-client label maps): 16 MiB above the
 * idle baseline tolerates that noise and still fails for what a leak looks like here (every one
 * of the hundreds of connections a run opens keeping its socket, buffers and maps alive). The
 * exact checks are the bookkeeping counts, which must return to zero.
 */
export const HEAP_SLACK_BYTES = 16 * 1024 * 1024;

/** Resource kinds whose count must return to its baseline once everything is closed. */
const HANDLE_KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'ProcessWrap', 'PipeWrap'];

export function openHandles(): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(HANDLE_KINDS.map((kind) => [kind, 0]));
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind] = (counts[kind] as number) + 1;
  }
  return counts;
}

/** Handles above the baseline, by kind (empty when none is left). */
export function leftoverHandles(baseline: Record<string, number>): Record<string, number> {
  const now = openHandles();
  return Object.fromEntries(
    Object.entries(now)
      .filter(([kind, count]) => count > (baseline[kind] ?? 0))
      .map(([kind, count]) => [kind, count - (baseline[kind] ?? 0)]),
  );
}

export async function expectNoLeftoverHandles(baseline: Record<string, number>): Promise<void> {
  const left = await eventually(
    () => leftoverHandles(baseline),
    (value) => Object.keys(value).length === 0,
    { timeoutMs: 15_000 },
  );
  expect(left, 'open handles left in the client process').toEqual({});
}

/** Broker and connection bookkeeping that must be back to zero once every client is gone. */
export function bookkeeping(stats: ServerStats): Record<string, number> {
  const totals = {
    gauge: stats.connections,
    connections: 0,
    peers: 0,
    channels: 0,
    channelsOfConnection: 0,
    concurrent: 0,
  };
  for (const app of Object.values(stats.apps)) {
    totals.connections += app.connections;
    totals.peers += app.peers;
    totals.channels += app.channels;
    totals.channelsOfConnection += app.channelsOfConnection;
    totals.concurrent += app.concurrent;
  }
  return totals;
}

const ZERO = {
  gauge: 0,
  connections: 0,
  peers: 0,
  channels: 0,
  channelsOfConnection: 0,
  concurrent: 0,
};

export async function expectServerBackToRest(
  server: ServerProcess,
  baseline: ServerStats,
): Promise<ServerStats> {
  const stats = await eventually(
    () => server.stats(),
    (value) => Object.values(bookkeeping(value)).every((count) => count === 0),
    { timeoutMs: 15_000 },
  );
  expect(bookkeeping(stats), 'server bookkeeping after every client left').toEqual(ZERO);
  const inRedis = await eventually(redisLeftovers, (left) => left.length === 0, {
    timeoutMs: 15_000,
  });
  expect(inRedis, 'what the Redis broker holds after every client left').toEqual([]);
  expect(stats.memory.heapUsed, 'server heap after GC').toBeLessThan(
    baseline.memory.heapUsed + HEAP_SLACK_BYTES,
  );
  return stats;
}

export interface SettleFigures {
  readonly requests: number;
  readonly outcomes: Record<string, number>;
  readonly maxSettleMs: number;
  readonly unsettled: number;
}

/** Every request settled, with an ack or a typed error, none later than the ack timeout + margin. */
export function checkSettled(records: readonly RequestRecord[]): SettleFigures {
  const outcomes: Record<string, number> = {};
  let maxSettleMs = 0;
  const unsettled: RequestRecord[] = [];
  const late: RequestRecord[] = [];
  for (const record of records) {
    if (record.settledAt === undefined || record.outcome === undefined) {
      unsettled.push(record);
      continue;
    }
    outcomes[record.outcome] = (outcomes[record.outcome] ?? 0) + 1;
    const took = record.settledAt - record.startedAt;
    maxSettleMs = Math.max(maxSettleMs, took);
    if (took > SETTLE_BOUND_MS) late.push(record);
  }
  expect(unsettled, 'requests never settled').toEqual([]);
  expect(late, `requests settled later than ${SETTLE_BOUND_MS} ms`).toEqual([]);
  const untyped = Object.keys(outcomes).filter((outcome) => outcome.startsWith('untyped:'));
  expect(untyped, 'requests rejected with an untyped error').toEqual([]);
  // The server answers every request it receives, and the client rejects what a dead connection
  // held with DisconnectedError: an ack timeout means a request the server dropped unanswered.
  expect(outcomes.ack_timeout ?? 0, 'requests that ended in AckTimeoutError').toBe(0);
  // The only server error a healthy run can see: a direct to a peer that is reconnecting.
  const serverErrors = Object.keys(outcomes).filter(
    (outcome) => outcome.startsWith('server_error:') && outcome !== 'server_error:peer_not_found',
  );
  expect(serverErrors, 'unexpected error codes').toEqual([]);
  return {
    requests: records.length,
    outcomes,
    maxSettleMs: Math.round(maxSettleMs),
    unsettled: unsettled.length,
  };
}

/** Resolves once every request has settled, or after the longest a request may take. */
export async function stopWorkload(workload: Workload): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    workload.stop(),
    new Promise((resolve) => {
      timer = setTimeout(resolve, SETTLE_BOUND_MS);
    }),
  ]);
  clearTimeout(timer);
}

export function checkDelivery(workload: Workload): void {
  const duplicates = workload.clients.flatMap((load) => load.duplicates);
  const reordered = workload.clients.flatMap((load) => load.reordered);
  expect(duplicates, 'messages delivered twice on one connection').toEqual([]);
  expect(reordered, 'frames of one sender connection out of order').toEqual([]);
}

let probeRound = 0;

/**
 * Every client `connected`, every subscription restored: the server holds one socket per client,
 * each channel's roster is exactly the clients that mean to be on it, and a probe published on
 * each channel reaches each of them.
 */
export async function expectRecovered(
  server: { httpUrl: string },
  key: SecretKey,
  workload: Workload,
): Promise<void> {
  const notConnected = await eventually(
    () => workload.clients.filter((load) => !load.connected).map((load) => load.peerId),
    (value) => value.length === 0,
    { timeoutMs: 30_000 },
  );
  expect(notConnected, 'clients not back to connected').toEqual([]);

  const authorization = bearer(key);
  const usage = await eventually(
    () => httpRequest(server.httpUrl, 'GET', '/v1/usage', { headers: { authorization } }),
    (response) => response.body?.concurrentNow === workload.clients.length,
    { timeoutMs: 20_000 },
  );
  expect(usage.body.concurrentNow, 'server sockets once stale ones are gone').toBe(
    workload.clients.length,
  );

  for (const channel of workload.channels) {
    const members = workload.clients
      .filter((load) => load.expected.has(channel))
      .map((load) => load.peerId)
      .sort();
    const path = `/v1/channels/${encodeURIComponent(channel)}/peers`;
    const roster = await eventually(
      async () => {
        const response = await httpRequest(server.httpUrl, 'GET', path, {
          headers: { authorization },
        });
        return (response.body.peers as { peerId: string }[]).map((peer) => peer.peerId).sort();
      },
      (value) => JSON.stringify(value) === JSON.stringify(members),
      { timeoutMs: 20_000 },
    );
    expect(roster, `roster of ${channel}`).toEqual(members);
  }

  probeRound++;
  for (const channel of workload.channels) {
    const probe = `${probeRound}:${channel}`;
    const response = await httpRequest(
      server.httpUrl,
      'POST',
      `/v1/channels/${encodeURIComponent(channel)}/publish`,
      {
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { probe } }),
      },
    );
    const members = workload.clients.filter((load) => load.expected.has(channel));
    expect(response.body.delivered, `probe on ${channel}`).toBe(members.length);
    const missing = await eventually(
      () => members.filter((load) => !load.probes.has(probe)).map((load) => load.peerId),
      (value) => value.length === 0,
    );
    expect(missing, `clients that missed the probe on ${channel}`).toEqual([]);
  }
}

/**
 * Acked publishes and directs that did not reach a connection that should have them: for a
 * publish, every other client's connection that is still open and was subscribed to the channel
 * from before the publish was sent until after its ack; for a direct, the target's connection
 * that is still open and was welcomed before the direct was sent.
 */
export function missingDeliveries(workload: Workload): { missing: string[]; checked: number } {
  const byPeer = new Map(workload.clients.map((load) => [load.peerId, load]));
  const missing: string[] = [];
  let checked = 0;
  for (const record of workload.requests()) {
    const { payloadId, target, settledAt } = record;
    if (record.outcome !== 'ack' || payloadId === undefined || target === undefined) continue;
    if (settledAt === undefined) continue;
    if (record.kind === 'publish') {
      for (const load of workload.clients) {
        if (load.peerId === record.from) continue;
        for (const connection of load.connections.values()) {
          if (connection.endedAt !== undefined) continue;
          if (!load.wasSubscribed(connection.epoch, target, record.startedAt, settledAt)) continue;
          checked++;
          if (load.seen.has(`${connection.epoch}|m:${payloadId}`)) continue;
          missing.push(
            `publish ${payloadId} on ${target} was acked and never reached ${load.peerId} (connection ${connection.epoch})`,
          );
        }
      }
    } else if (record.kind === 'send') {
      const load = byPeer.get(target);
      for (const connection of load?.connections.values() ?? []) {
        if (connection.endedAt !== undefined || connection.connectedAt >= record.startedAt)
          continue;
        if (load?.seen.has(`${connection.epoch}|d:${payloadId}`)) continue;
        missing.push(
          `direct ${payloadId} was acked and never reached ${target} (connection ${connection.epoch})`,
        );
      }
    }
  }
  return { missing, checked };
}

/** Nothing acked is lost: waits for what is still in flight, then lists what never came. */
export async function expectNothingLost(workload: Workload): Promise<number> {
  const { missing, checked } = await eventually(
    () => missingDeliveries(workload),
    (value) => value.missing.length === 0,
    { timeoutMs: 15_000 },
  );
  expect(missing.slice(0, 20), `acked and lost (${missing.length})`).toEqual([]);
  // The check must have had something to check.
  expect(checked, 'deliveries checked').toBeGreaterThan(0);
  return checked;
}
