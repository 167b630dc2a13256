import { createServer, connect, type Server, type Socket } from 'node:net';
import type { SeededRandom } from './seeded-random.js';

/** The faults the proxy injects into one connection. */
export const FAULT_KINDS = ['drop', 'stall', 'delay', 'cut', 'blackhole'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultScheduleOptions {
  /** How long faults are injected. */
  readonly durationMs: number;
  /** Mean time between two faults (exponential gaps). */
  readonly meanGapMs: number;
  /** Relative weight of each kind. */
  readonly weights: Readonly<Record<FaultKind, number>>;
  /** Range of a stall, ms. */
  readonly stallMs: readonly [number, number];
  /** Range of the added latency of a delay, and of how long it lasts, ms. */
  readonly delayMs: readonly [number, number];
  readonly delayForMs: readonly [number, number];
}

/**
 * Tracks WebSocket frame boundaries in one direction of a connection (after the HTTP upgrade), so
 * that a cut lands inside a frame rather than between two.
 */
class FrameTracker {
  private upgraded = false;
  private tail = '';
  private remaining = 0;
  private header: number[] = [];

  /** The frames that start in `chunk`: offset and total length (which may run past the chunk). */
  feed(chunk: Buffer): { start: number; length: number }[] {
    const frames: { start: number; length: number }[] = [];
    let offset = 0;
    if (!this.upgraded) {
      const text = this.tail + chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.tail = text.slice(-3);
        return frames;
      }
      this.upgraded = true;
      offset = end + 4 - this.tail.length;
    }
    let headerStart = offset;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= take;
        offset += take;
        continue;
      }
      if (this.header.length === 0) headerStart = offset;
      this.header.push(chunk[offset] as number);
      offset++;
      if (this.header.length < 2) continue;
      const length7 = (this.header[1] as number) & 0x7f;
      const masked = ((this.header[1] as number) & 0x80) !== 0;
      const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
      const headerLength = 2 + extended + (masked ? 4 : 0);
      if (this.header.length < headerLength) continue;
      let payload = length7;
      if (extended > 0) {
        payload = 0;
        for (let index = 2; index < 2 + extended; index++) {
          payload = payload * 256 + (this.header[index] as number);
        }
      }
      frames.push({ start: headerStart, length: headerLength + payload });
      this.header = [];
      this.remaining = payload;
    }
    return frames;
  }
}

interface Queued {
  readonly data: Buffer | 'end';
  readonly due: number;
}

/** One proxied connection: client ⇄ upstream, with its own fault state. */
class Link {
  mode: 'pass' | 'blackhole' = 'pass';
  stalledUntil = 0;
  delayMs = 0;
  delayUntil = 0;
  cutPending = false;
  closed = false;
  private readonly queues = { up: [] as Queued[], down: [] as Queued[] };
  private readonly timers = {
    up: undefined as NodeJS.Timeout | undefined,
    down: undefined as NodeJS.Timeout | undefined,
  };
  private readonly trackers = { up: new FrameTracker(), down: new FrameTracker() };
  private readonly ended = { client: false, upstream: false };

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly onGone: (link: Link) => void,
    private readonly onCut: () => void,
  ) {
    this.wire(client, 'up', 'client');
    this.wire(upstream, 'down', 'upstream');
  }

  private wire(source: Socket, direction: 'up' | 'down', side: 'client' | 'upstream'): void {
    source.on('error', () => undefined);
    source.on('data', (chunk: Buffer) => this.receive(direction, chunk));
    source.on('end', () => {
      this.ended[side] = true;
      if (this.mode === 'blackhole') return;
      this.queues[direction].push({ data: 'end', due: this.dueTime(direction) });
      this.pump(direction);
    });
    source.on('close', () => {
      if (this.mode === 'blackhole') {
        // A blackhole tells neither side: the other socket stays until the end of the run.
        if (this.client.destroyed && this.upstream.destroyed) this.gone();
        return;
      }
      if (!this.ended[side]) this.destroy();
      else if (this.client.destroyed && this.upstream.destroyed) this.gone();
    });
  }

  private dueTime(direction: 'up' | 'down'): number {
    const now = Date.now();
    const delay = now < this.delayUntil ? this.delayMs : 0;
    const last = this.queues[direction].at(-1)?.due ?? 0;
    return Math.max(now + delay, last);
  }

  private receive(direction: 'up' | 'down', chunk: Buffer): void {
    if (this.closed || this.mode === 'blackhole') return;
    const frames = this.trackers[direction].feed(chunk);
    if (this.cutPending) {
      const frame = frames.find(({ length }) => length >= 2);
      if (frame) {
        // Half a frame reaches the other side, then the connection dies.
        const cut = Math.min(frame.start + Math.max(1, Math.floor(frame.length / 2)), chunk.length);
        this.cutPending = false;
        this.onCut();
        this.queues[direction].length = 0;
        const target = direction === 'up' ? this.upstream : this.client;
        target.write(chunk.subarray(0, cut), () => this.destroy());
        return;
      }
    }
    this.queues[direction].push({ data: chunk, due: this.dueTime(direction) });
    this.pump(direction);
  }

  pump(direction: 'up' | 'down'): void {
    if (this.closed || this.mode === 'blackhole') return;
    clearTimeout(this.timers[direction]);
    this.timers[direction] = undefined;
    const target = direction === 'up' ? this.upstream : this.client;
    const queue = this.queues[direction];
    const now = Date.now();
    while (queue.length > 0) {
      const head = queue[0] as Queued;
      const due = Math.max(head.due, this.stalledUntil);
      if (due > now) {
        this.timers[direction] = setTimeout(() => this.pump(direction), due - now);
        return;
      }
      queue.shift();
      if (head.data === 'end') target.end();
      else if (!target.destroyed) target.write(head.data);
    }
  }

  stall(ms: number): void {
    this.stalledUntil = Date.now() + ms;
    this.pump('up');
    this.pump('down');
  }

  delay(ms: number, forMs: number): void {
    this.delayMs = ms;
    this.delayUntil = Date.now() + forMs;
  }

  blackhole(): void {
    this.mode = 'blackhole';
    this.clearQueues();
  }

  /** Back to a healthy link: a blackholed one is torn down (both sides see a reset). */
  heal(): void {
    this.cutPending = false;
    this.delayUntil = 0;
    this.stalledUntil = 0;
    if (this.mode === 'blackhole') this.destroy();
    else {
      this.pump('up');
      this.pump('down');
    }
  }

  private clearQueues(): void {
    for (const direction of ['up', 'down'] as const) {
      clearTimeout(this.timers[direction]);
      this.timers[direction] = undefined;
      this.queues[direction].length = 0;
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.mode = 'pass';
    this.clearQueues();
    this.client.destroy();
    this.upstream.destroy();
    this.gone();
  }

  private gone(): void {
    this.closed = true;
    this.clearQueues();
    this.onGone(this);
  }
}

/**
 * A TCP proxy on 127.0.0.1 between clients and the server that injects faults into live
 * connections: drop (reset both sides), stall (hold both directions), delay (added latency),
 * cut (half a WebSocket frame, then a reset) and blackhole (nothing passes, nothing closes).
 */
export class FaultProxy {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private targetPort: number;
  private scheduleTimer: NodeJS.Timeout | undefined;
  private scheduleDone: (() => void) | undefined;
  /** Faults injected, by kind (a cut counts when it lands). */
  readonly injected: Record<FaultKind, number> = {
    drop: 0,
    stall: 0,
    delay: 0,
    cut: 0,
    blackhole: 0,
  };
  /** Scheduled faults that found no live connection. */
  skipped = 0;
  /** Connections accepted. */
  accepted = 0;
  port = 0;

  constructor(targetPort: number) {
    this.targetPort = targetPort;
    this.server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
  }

  /** A proxy to `targetPort`, listening on a free port of 127.0.0.1. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort);
    await proxy.listen();
    return proxy;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** New connections go to another server (a load balancer switching to a new deployment). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  get openLinks(): number {
    return this.links.size;
  }

  private accept(client: Socket): void {
    this.accepted++;
    const upstream = connect({ port: this.targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const link = new Link(
      client,
      upstream,
      (gone) => this.links.delete(gone),
      () => this.injected.cut++,
    );
    this.links.add(link);
  }

  /** Injects one fault of `kind` into a live connection chosen by `pick` (a number in [0, 1)). */
  inject(kind: FaultKind, pick: number, random: SeededRandom, options: FaultScheduleOptions): void {
    const live = [...this.links].filter((link) => !link.closed && link.mode === 'pass');
    // Parameters are drawn whether or not a link is found, so the schedule is the same for a seed.
    const stall = random.int(options.stallMs[0], options.stallMs[1]);
    const delay = random.int(options.delayMs[0], options.delayMs[1]);
    const delayFor = random.int(options.delayForMs[0], options.delayForMs[1]);
    const link = live[Math.floor(pick * live.length)];
    if (!link) {
      this.skipped++;
      return;
    }
    switch (kind) {
      case 'drop':
        this.injected.drop++;
        link.destroy();
        return;
      case 'stall':
        this.injected.stall++;
        link.stall(stall);
        return;
      case 'delay':
        this.injected.delay++;
        link.delay(delay, delayFor);
        return;
      case 'cut':
        link.cutPending = true;
        return;
      case 'blackhole':
        this.injected.blackhole++;
        link.blackhole();
        return;
    }
  }

  /** Injects faults on a seeded schedule until `durationMs` has passed (or `stop()`). */
  run(random: SeededRandom, options: FaultScheduleOptions): Promise<void> {
    const end = Date.now() + options.durationMs;
    return new Promise((resolve) => {
      this.scheduleDone = resolve;
      const step = (): void => {
        const gap = Math.round(-Math.log(1 - random.next()) * options.meanGapMs);
        const kind = random.weighted(options.weights);
        const pick = random.next();
        if (Date.now() + gap >= end) {
          this.scheduleTimer = setTimeout(() => this.stop(), Math.max(0, end - Date.now()));
          return;
        }
        this.scheduleTimer = setTimeout(() => {
          this.inject(kind, pick, random, options);
          step();
        }, gap);
      };
      step();
    });
  }

  /** Stops the schedule. */
  stop(): void {
    clearTimeout(this.scheduleTimer);
    this.scheduleTimer = undefined;
    this.scheduleDone?.();
    this.scheduleDone = undefined;
  }

  /** Stops injecting and heals every connection (blackholed ones are reset). */
  heal(): void {
    this.stop();
    for (const link of [...this.links]) link.heal();
  }

  /** Resets every connection. */
  dropAll(): void {
    for (const link of [...this.links]) link.destroy();
  }

  async close(): Promise<void> {
    this.stop();
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
