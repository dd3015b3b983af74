// Gateway Prometheus metrics (prom-client). One registry per gateway instance, so several
// gateways in one process (tests, benches) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram, type CounterSeries, type HistogramSeries } from './hot-metrics.ts';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Measured over predicted: 1 is exact, 2 twice as slow as predicted. */
const RATIO_BUCKETS = [0.25, 0.5, 0.67, 0.8, 0.9, 1.1, 1.25, 1.5, 2, 4];

export class GatewayMetrics {
  readonly registry = new Registry();
  // Touched on every request or relayed chunk: the cheap kind (hot-metrics.ts).
  readonly requests = new HotCounter(this.registry, 'inferstack_gateway_requests_total', 'Requests by model, endpoint and HTTP status', ['model', 'endpoint', 'status']);
  readonly ttft = new HotHistogram(this.registry, 'inferstack_gateway_time_to_first_token_seconds', 'Gateway receive to first streamed chunk sent', ['model'], LATENCY_BUCKETS);
  readonly itl = new HotHistogram(this.registry, 'inferstack_gateway_inter_token_latency_seconds', 'Time between streamed chunks relayed', ['model'], LATENCY_BUCKETS);
  readonly e2e = new HotHistogram(this.registry, 'inferstack_gateway_e2e_request_latency_seconds', 'Gateway receive to response end', ['model'], LATENCY_BUCKETS);
  readonly ttftPrediction = new HotHistogram(this.registry, 'inferstack_gateway_ttft_prediction_ratio', "An engine's time to its first streamed bytes over the TTFT the scheduler predicted at its decision (inferstack with a pool's hardware)", ['pool'], RATIO_BUCKETS);
  readonly tokenizations = new HotCounter(this.registry, 'inferstack_gateway_prompt_tokenizations_total', "Prompts tokenized for routing by a pool's tokenizer, by outcome: cache_hit, tokenized, failed (routed on estimates), skipped (token ids given, a batch of prompts, or chat media only the engine can count)", ['pool', 'outcome']);
  readonly tokenizeTime = new HotHistogram(this.registry, 'inferstack_gateway_prompt_tokenize_seconds', "Time a pool's tokenizer took on a prompt not in its cache (tokenized or failed), before routing", ['pool'], LATENCY_BUCKETS);
  readonly routed = new HotCounter(this.registry, 'inferstack_gateway_routing_decisions_total', 'Requests routed, by pool, endpoint and role', ['pool', 'endpoint', 'role']);
  /** Requests being served; a plain number, read into the gauge when /metrics is scraped. */
  inflightRequests = 0;
  // The rest move on failures and state changes only: prom-client's own.
  readonly upstreamErrors = new Counter({ name: 'inferstack_gateway_upstream_errors_total', help: 'Failed upstream attempts by endpoint and kind', labelNames: ['endpoint', 'kind'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'inferstack_gateway_retries_total', help: 'Attempts retried on another endpoint before the first byte', labelNames: ['pool'], registers: [this.registry] });
  readonly streamErrors = new Counter({ name: 'inferstack_gateway_stream_errors_total', help: 'Streams ended with an error event after the first byte', labelNames: ['model'], registers: [this.registry] });
  readonly inflight: Gauge = new Gauge({ name: 'inferstack_gateway_inflight_requests', help: 'Requests being served', registers: [this.registry], collect: (): void => this.inflight.set(this.inflightRequests) });
  readonly queueDepth = new Gauge({ name: 'inferstack_gateway_queue_depth', help: 'Requests waiting for a non-saturated endpoint', labelNames: ['pool'], registers: [this.registry] });
  readonly queueTime = new Histogram({ name: 'inferstack_gateway_queue_time_seconds', help: 'Time admitted requests waited in the admission queue', labelNames: ['pool'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly queueExits = new Counter({ name: 'inferstack_gateway_queue_exits_total', help: 'Requests that had to queue, by how they left: admitted, full, timeout, client_closed, failed, drained', labelNames: ['pool', 'exit'], registers: [this.registry] });
  readonly ejections = new Counter({ name: 'inferstack_gateway_endpoint_ejections_total', help: 'Endpoints ejected by the circuit breaker', labelNames: ['endpoint'], registers: [this.registry] });
  readonly healthy = new Gauge({ name: 'inferstack_gateway_endpoint_healthy', help: '1 when the endpoint is admitted for routing', labelNames: ['endpoint'], registers: [this.registry] });
  readonly clientAborts = new Counter({ name: 'inferstack_gateway_client_disconnects_total', help: 'Requests whose client went away before the end', labelNames: ['model'], registers: [this.registry] });

  // KV events from the engines, feeding each pool's precise prefix index (kv-feed.ts).
  readonly kvEvents = new Counter({ name: 'inferstack_gateway_kv_events_total', help: 'KV cache events applied to the precise prefix index, by endpoint', labelNames: ['endpoint'], registers: [this.registry] });
  readonly kvBatchesReplayed = new Counter({ name: 'inferstack_gateway_kv_batches_replayed_total', help: 'KV event batches recovered from the replay socket after a gap', labelNames: ['endpoint'], registers: [this.registry] });
  readonly kvPublisherRestarts = new Counter({ name: 'inferstack_gateway_kv_publisher_restarts_total', help: 'KV event publisher restarts seen (that engine\'s blocks were dropped)', labelNames: ['endpoint'], registers: [this.registry] });
  readonly kvEventErrors = new Counter({ name: 'inferstack_gateway_kv_event_errors_total', help: 'KV event stream errors (lost batches not replayed, undecodable messages)', labelNames: ['endpoint'], registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  countRequest(model: string, endpoint: string, status: string): void {
    this.requests.seriesFor(model, endpoint, status).inc();
  }

  /** The routing counter for one endpoint and role, for the caller to keep. */
  routedSeries(pool: string, endpoint: string, role: string): CounterSeries {
    return this.routed.seriesFor(pool, endpoint, role);
  }

  countRouted(pool: string, endpoint: string, role: string): void {
    this.routed.seriesFor(pool, endpoint, role).inc();
  }

  observeE2e(model: string, seconds: number): void {
    this.e2e.seriesFor(model).observe(seconds);
  }

  observeTtft(model: string, seconds: number): void {
    this.ttft.seriesFor(model).observe(seconds);
  }

  /** The ITL histogram series for a model, for a stream to hold (observed once per relayed chunk). */
  itlFor(model: string): HistogramSeries {
    return this.itl.seriesFor(model);
  }
}
