import {
  AckTimeoutError,
  DisconnectedError,
  ServerRequestError,
  SignallingError,
} from '@metered/errors';
import {
  Connected,
  Direct,
  Disconnected,
  GoingAway,
  Message,
  Presence,
  SignallingClient,
} from '@metered/signalling';
import { signToken, type SecretKey } from './credentials.js';
import type { SeededRandom } from '@metered/test-support';

/** How one request ended: `ack`, or the class (and code) of the typed error it rejected with. */
export type Outcome =
  | 'ack'
  | `server_error:${string}`
  | 'ack_timeout'
  | 'disconnected'
  | 'not_connected'
  | `untyped:${string}`;

export interface RequestRecord {
  readonly kind: 'publish' | 'send' | 'subscribe' | 'unsubscribe';
  readonly startedAt: number;
  /** The peer that made the request. */
  readonly from: string;
  /** Publish: the channel; send: the target peer id. */
  readonly target?: string;
  /** Publish and send: the payload's id as receivers record it (`sender:epoch:seq`). */
  readonly payloadId?: string;
  settledAt?: number;
  outcome?: Outcome;
}

/** One connection of a client (one welcome), and when it was subscribed to what. */
export interface ConnectionRecord {
  readonly epoch: number;
  readonly connectedAt: number;
  /** When the connection closed; undefined while it is open. */
  endedAt?: number;
  /**
   * Per channel, the times this connection was surely subscribed: from the subscribe's ack or
   * the presence snapshot that follows it (the server registered the subscription before either
   * left it) until the unsubscribe was sent.
   */
  readonly subscribed: Map<string, { since: number; until: number }[]>;
}

function classify(error: unknown): Outcome {
  if (error instanceof ServerRequestError) return `server_error:${error.code}`;
  if (error instanceof AckTimeoutError) return 'ack_timeout';
  if (error instanceof DisconnectedError) return 'disconnected';
  if (error instanceof SignallingError) return 'not_connected';
  return `untyped:${String(error)}`;
}

interface Payload {
  readonly from: number;
  readonly epoch: number;
  readonly seq: number;
}

function isPayload(data: unknown): data is Payload {
  return typeof data === 'object' && data !== null && 'seq' in data && 'from' in data;
}

/** One client of the load: its requests, what it received, and the invariants it can check. */
export class LoadClient {
  readonly peerId: string;
  readonly client: SignallingClient;
  readonly requests: RequestRecord[] = [];
  /** Channels the client means to be subscribed to (mirrors what it replays after a reconnect). */
  readonly expected = new Set<string>();
  /** Welcomes so far: the current connection's number. */
  epoch = 0;
  reconnects = 0;
  goingAway = 0;
  readonly closeCodes = new Map<number, number>();
  /** Every close of a welcomed connection, in order: `connection <epoch>: <code> <reason>`. */
  readonly closes: string[] = [];
  /** A message or direct seen twice on one connection. */
  readonly duplicates: string[] = [];
  /** A message or direct from one sender connection that overtook an earlier one. */
  readonly reordered: string[] = [];
  readonly probes = new Set<string>();
  /** Every connection so far, by epoch. */
  readonly connections = new Map<number, ConnectionRecord>();
  /** What was received, as `epoch|kind:sender:senderEpoch:seq` (`kind`: m message, d direct). */
  readonly seen = new Set<string>();
  private readonly lastSeq = new Map<string, number>();
  /** Subscribes and unsubscribes in flight, per channel. */
  private readonly changing = new Map<string, number>();
  private seq = 0;
  private inFlight = 0;

  constructor(
    readonly index: number,
    url: string,
    key: SecretKey,
    options: { inactivityTimeoutMs: number; random: SeededRandom },
  ) {
    this.peerId = `load-${index}`;
    this.client = new SignallingClient({
      url,
      tokenProvider: () => signToken(key, this.peerId),
      reconnect: { initialDelayMs: 50, maxDelayMs: 1_000, jitterRatio: 0.5, maxAttempts: Infinity },
      inactivityTimeoutMs: options.inactivityTimeoutMs,
      random: () => options.random.next(),
    });
    this.client.on(Connected, (event) => {
      this.epoch++;
      if (event.isReconnect) this.reconnects++;
      this.connections.set(this.epoch, {
        epoch: this.epoch,
        connectedAt: performance.now(),
        subscribed: new Map(),
      });
    });
    this.client.on(Disconnected, (event) => {
      this.closeCodes.set(event.code, (this.closeCodes.get(event.code) ?? 0) + 1);
      this.closes.push(`connection ${this.epoch}: ${event.code} ${event.reason}`.trim());
      const connection = this.connections.get(this.epoch);
      if (connection && connection.endedAt === undefined) connection.endedAt = performance.now();
    });
    // The snapshot after a (replayed) subscribe: the subscription is registered.
    // With no subscribe or unsubscribe of the channel in flight (an answer to an older one could
    // otherwise open the interval while a newer unsubscribe is still on its way).
    this.client.on(Presence, (event) => {
      if (this.expected.has(event.channel) && !this.changing.has(event.channel)) {
        this.markSubscribed(this.epoch, event.channel);
      }
    });
    this.client.on(GoingAway, () => this.goingAway++);
    this.client.on(Message, (event) => this.receive('m', event.data, event.senderPeerId));
    this.client.on(Direct, (event) => this.receive('d', event.data, event.senderPeerId));
  }

  /** Opens a subscribed interval of `channel` on connection `epoch`, unless one is open. */
  private markSubscribed(epoch: number, channel: string): void {
    const connection = this.connections.get(epoch);
    if (!connection || connection.endedAt !== undefined) return;
    const intervals = connection.subscribed.get(channel) ?? [];
    if (intervals.at(-1)?.until === Infinity) return;
    intervals.push({ since: performance.now(), until: Infinity });
    connection.subscribed.set(channel, intervals);
  }

  /** Whether connection `epoch` is open and was subscribed to `channel` over all of `[from, to]`. */
  wasSubscribed(epoch: number, channel: string, from: number, to: number): boolean {
    const intervals = this.connections.get(epoch)?.subscribed.get(channel) ?? [];
    return intervals.some((interval) => interval.since < from && interval.until > to);
  }

  private receive(kind: 'm' | 'd', data: unknown, sender: string): void {
    if (typeof data === 'object' && data !== null && 'probe' in data) {
      this.probes.add(String(data.probe));
      return;
    }
    if (!isPayload(data)) return;
    const id = `${kind}:${sender}:${data.epoch}:${data.seq}`;
    const key = `${this.epoch}|${id}`;
    if (this.seen.has(key)) this.duplicates.push(`connection ${this.epoch} got ${id} twice`);
    this.seen.add(key);
    // Per sender connection, frames reach one receiver connection in order (FIFO of one socket).
    const stream = `${this.epoch}|${sender}:${data.epoch}`;
    const last = this.lastSeq.get(stream) ?? -1;
    if (data.seq <= last) {
      this.reordered.push(`connection ${this.epoch}: ${id} after seq ${last}`);
    }
    this.lastSeq.set(stream, Math.max(last, data.seq));
  }

  get connected(): boolean {
    return this.client.state === 'connected';
  }

  get pending(): number {
    return this.inFlight;
  }

  private track(
    kind: RequestRecord['kind'],
    run: () => Promise<void>,
    details: { target?: string; payload?: Payload } = {},
  ): Promise<void> {
    const record: RequestRecord = {
      kind,
      startedAt: performance.now(),
      from: this.peerId,
      ...(details.target !== undefined && { target: details.target }),
      ...(details.payload && {
        payloadId: `${this.peerId}:${details.payload.epoch}:${details.payload.seq}`,
      }),
    };
    this.requests.push(record);
    this.inFlight++;
    const settle = (outcome: Outcome): void => {
      record.settledAt = performance.now();
      record.outcome = outcome;
      this.inFlight--;
    };
    return run().then(
      () => settle('ack'),
      (error: unknown) => settle(classify(error)),
    );
  }

  payload(): Payload {
    return { from: this.index, epoch: this.epoch, seq: this.seq++ };
  }

  publish(channel: string): Promise<void> {
    const data = this.payload();
    return this.track('publish', () => this.client.publish(channel, data), {
      target: channel,
      payload: data,
    });
  }

  send(peerId: string): Promise<void> {
    const data = this.payload();
    return this.track('send', () => this.client.send(peerId, data), {
      target: peerId,
      payload: data,
    });
  }

  subscribe(channel: string): Promise<void> {
    const known = this.expected.has(channel);
    if (this.connected) this.expected.add(channel);
    const epoch = this.epoch;
    const done = this.change(channel);
    return this.track('subscribe', async () => {
      try {
        await this.client.subscribe(channel);
        if (this.expected.has(channel) && this.changing.get(channel) === 1) {
          this.markSubscribed(epoch, channel);
        }
      } catch (error) {
        if (!known && error instanceof ServerRequestError) this.expected.delete(channel);
        throw error;
      } finally {
        done();
      }
    });
  }

  unsubscribe(channel: string): Promise<void> {
    this.expected.delete(channel);
    const open = this.connections.get(this.epoch)?.subscribed.get(channel)?.at(-1);
    if (open?.until === Infinity) open.until = performance.now();
    const done = this.change(channel);
    return this.track('unsubscribe', () => this.client.unsubscribe(channel).finally(done));
  }

  /** Counts a subscription change of `channel` in flight; returns its end. */
  private change(channel: string): () => void {
    this.changing.set(channel, (this.changing.get(channel) ?? 0) + 1);
    return () => {
      const left = (this.changing.get(channel) ?? 1) - 1;
      if (left > 0) this.changing.set(channel, left);
      else this.changing.delete(channel);
    };
  }

  /** Whether another request may start (a stalled connection does not pile up requests). */
  get idle(): boolean {
    return this.inFlight < 8;
  }
}

export interface WorkloadOptions {
  readonly url: string;
  readonly key: SecretKey;
  readonly clients: number;
  readonly channels: number;
  readonly inactivityTimeoutMs: number;
  /** Time between two actions of one client, ms. */
  readonly actionGapMs: readonly [number, number];
}

/** N clients publishing, sending directs and (re)subscribing on seeded timers. */
export class Workload {
  readonly clients: LoadClient[] = [];
  readonly channels: string[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running: Promise<void>[] = [];
  private active = false;

  constructor(
    private readonly random: SeededRandom,
    private readonly options: WorkloadOptions,
  ) {
    this.channels = Array.from({ length: options.channels }, (_, index) => `load/${index}`);
    for (let index = 0; index < options.clients; index++) {
      this.clients.push(
        new LoadClient(index, options.url, options.key, {
          inactivityTimeoutMs: options.inactivityTimeoutMs,
          random: random.fork(),
        }),
      );
    }
  }

  /** Connects every client and subscribes each to two channels. */
  async connect(): Promise<void> {
    await Promise.all(this.clients.map((load) => load.client.connect()));
    await Promise.all(
      this.clients.map(async (load) => {
        const first = this.channels[load.index % this.channels.length] as string;
        const second = this.channels[(load.index * 7 + 3) % this.channels.length] as string;
        for (const channel of new Set([first, second])) {
          await load.subscribe(channel);
        }
      }),
    );
  }

  /** Starts every client's seeded action loop. */
  start(): void {
    this.active = true;
    for (const load of this.clients) this.loop(load, this.random.fork());
  }

  private loop(load: LoadClient, random: SeededRandom): void {
    const [min, max] = this.options.actionGapMs;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.active) return;
        this.act(load, random);
        this.loop(load, random);
      },
      random.int(min, max),
    );
    this.timers.add(timer);
  }

  private act(load: LoadClient, random: SeededRandom): void {
    const action = random.weighted({ publish: 4, send: 3, resubscribe: 1, toggle: 1 });
    const target = random.int(0, this.clients.length - 1);
    const channel = random.pick(this.channels);
    if (!load.connected || !load.idle) return;
    switch (action) {
      case 'publish': {
        const own = [...load.expected];
        this.running.push(load.publish(own.length > 0 ? random.pick(own) : channel));
        return;
      }
      case 'send': {
        const peer =
          this.clients[target === load.index ? (target + 1) % this.clients.length : target];
        this.running.push(load.send((peer as LoadClient).peerId));
        return;
      }
      case 'resubscribe':
        this.running.push(load.subscribe(random.pick([...load.expected, channel])));
        return;
      case 'toggle':
        this.running.push(
          load.expected.has(channel) && load.expected.size > 1
            ? load.unsubscribe(channel)
            : load.subscribe(channel),
        );
        return;
    }
  }

  /** Stops issuing requests; resolves once every request issued so far has settled. */
  async stop(): Promise<void> {
    this.active = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.running);
  }

  requests(): RequestRecord[] {
    return this.clients.flatMap((load) => load.requests);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((load) => load.client.close()));
  }
}
