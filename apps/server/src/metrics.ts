import { Counter, Gauge, Registry } from 'prom-client';

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

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
