import { Counter, Gauge, Registry } from 'prom-client';

/** An increment-only handle on one labelled series. */
interface Increment {
  inc(): void;
}

/** The server's Prometheus metrics, on a registry of its own (never the global default). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'metered_connections',
    help: 'Open WebSocket connections on this node, per app.',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });
  readonly connectsTotal = new Counter({
    name: 'metered_connects_total',
    help: 'Connect attempts by outcome (welcome, or the close code / HTTP status that refused them).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly closesTotal = new Counter({
    name: 'metered_closes_total',
    help: 'WebSocket closes initiated by the server, by close code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly framesInTotal = new Counter({
    name: 'metered_frames_in_total',
    help: 'Client frames received, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly errorsTotal = new Counter({
    name: 'metered_error_frames_total',
    help: 'Error frames sent, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly restRequestsTotal = new Counter({
    name: 'metered_rest_requests_total',
    help: 'REST control-plane requests, by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly sessionsTotal = new Counter({
    name: 'metered_resume_sessions_total',
    help: 'Extension resume: sessions held after a drop (held) and taken back by a resume (resumed), on this node.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly framesInByType = new Map<string, Increment>();

  /**
   * Counts one client frame of a type. The labelled series is looked up once per type, so the
   * per-frame path does not hash labels.
   */
  frameIn(type: string): void {
    let series = this.framesInByType.get(type);
    if (series === undefined) {
      series = this.framesInTotal.labels({ type });
      this.framesInByType.set(type, series);
    }
    series.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
