// Gateway Prometheus metrics (prom-client). One registry per gateway instance, so several
// gateways in one process (tests, benches) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'inferstack_gateway_requests_total', help: 'Requests by model, endpoint and HTTP status', labelNames: ['model', 'endpoint', 'status'], registers: [this.registry] });
  readonly ttft = new Histogram({ name: 'inferstack_gateway_time_to_first_token_seconds', help: 'Gateway receive to first streamed chunk sent', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly itl = new Histogram({ name: 'inferstack_gateway_inter_token_latency_seconds', help: 'Time between streamed chunks relayed', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly e2e = new Histogram({ name: 'inferstack_gateway_e2e_request_latency_seconds', help: 'Gateway receive to response end', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly upstreamErrors = new Counter({ name: 'inferstack_gateway_upstream_errors_total', help: 'Failed upstream attempts by endpoint and kind', labelNames: ['endpoint', 'kind'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'inferstack_gateway_retries_total', help: 'Attempts retried on another endpoint before the first byte', labelNames: ['pool'], registers: [this.registry] });
  readonly streamErrors = new Counter({ name: 'inferstack_gateway_stream_errors_total', help: 'Streams ended with an error event after the first byte', labelNames: ['model'], registers: [this.registry] });
  readonly inflight = new Gauge({ name: 'inferstack_gateway_inflight_requests', help: 'Requests being served', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'inferstack_gateway_queue_depth', help: 'Requests waiting for a non-saturated endpoint', labelNames: ['pool'], registers: [this.registry] });
  readonly routed = new Counter({ name: 'inferstack_gateway_routing_decisions_total', help: 'Requests routed, by pool, endpoint and role', labelNames: ['pool', 'endpoint', 'role'], registers: [this.registry] });
  readonly ejections = new Counter({ name: 'inferstack_gateway_endpoint_ejections_total', help: 'Endpoints ejected by the circuit breaker', labelNames: ['endpoint'], registers: [this.registry] });
  readonly healthy = new Gauge({ name: 'inferstack_gateway_endpoint_healthy', help: '1 when the endpoint is admitted for routing', labelNames: ['endpoint'], registers: [this.registry] });
  readonly clientAborts = new Counter({ name: 'inferstack_gateway_client_disconnects_total', help: 'Requests whose client went away before the end', labelNames: ['model'], registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  // Hot-path helpers: prom-client's labels() hashes its arguments on every call; the children are
  // cached by a joined key instead (bounded: label values are known models, endpoints, statuses).
  private readonly children = new Map<string, { inc(): void } | { observe(v: number): void }>();

  private child<T extends { inc(): void } | { observe(v: number): void }>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (!c) {
      if (this.children.size >= 10_000) this.children.clear();
      c = make();
      this.children.set(key, c);
    }
    return c;
  }

  countRequest(model: string, endpoint: string, status: string): void {
    this.child(`r\0${model}\0${endpoint}\0${status}`, () => this.requests.labels(model, endpoint, status)).inc();
  }

  countRouted(pool: string, endpoint: string, role: string): void {
    this.child(`d\0${pool}\0${endpoint}\0${role}`, () => this.routed.labels(pool, endpoint, role)).inc();
  }

  observeE2e(model: string, seconds: number): void {
    this.child(`e\0${model}`, () => this.e2e.labels(model)).observe(seconds);
  }

  observeTtft(model: string, seconds: number): void {
    this.child(`t\0${model}`, () => this.ttft.labels(model)).observe(seconds);
  }

  /** The ITL histogram child for a model, for a stream to hold (observed once per relayed chunk). */
  itlFor(model: string): { observe(v: number): void } {
    return this.child(`i\0${model}`, () => this.itl.labels(model));
  }
}
