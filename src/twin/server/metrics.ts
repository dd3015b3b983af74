// The twin's GET /metrics: one prom-client registry per server (several twins share a process),
// with vLLM's metric names, labels and meanings (reference/protocols.md section 2). Gauges and
// counters are read from the core's stats at scrape time; latency histograms are observed per request.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TwinStats } from '../core/types.ts';

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py), so dashboards built for vLLM read ours.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const REQUEST_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** P/D transfer counts of the server (kv-transfer.ts holds on a prefill twin, pulls on a decode twin). */
export interface KvTransferCounts {
  held: number;
  pulled: number;
  released: number;
  expired: number;
  pullsOk: number;
  pullsFailed: number;
}

export interface TwinMetricsOptions {
  modelName: string;
  stats: () => TwinStats;
  cacheDtype: string;
  /** When given, the P/D transfer metrics (inferstack_twin_kv_*: vLLM has no names for these). */
  kvTransfer?: () => KvTransferCounts;
  /** Serving LoRA adapters: publish vLLM's lora_requests_info. */
  lora?: boolean;
}

export interface TwinMetrics {
  readonly registry: Registry;
  /** Seconds from arrival to the first token. */
  observeFirstToken(ttft: number): void;
  /** Gap between two consecutive tokens of one request, in seconds. */
  observeInterToken(gap: number): void;
  /** `queueTime`: seconds spent waiting, when the request produced a token. */
  observeFinish(e2e: number, finishedReason: 'stop' | 'length' | 'abort', queueTime: number | undefined): void;
  render(): Promise<string>;
}

export function createTwinMetrics(opts: TwinMetricsOptions): TwinMetrics {
  const registry = new Registry();
  const labels = { model_name: opts.modelName, engine: '0' };
  const labelNames = ['model_name', 'engine'] as const;
  const registers = [registry];

  const gauge = (name: string, help: string, read: (s: TwinStats) => number) =>
    new Gauge({ name, help, labelNames, registers, collect() { this.set(labels, read(opts.stats())); } });
  gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', (s) => s.running);
  gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', (s) => s.waiting);
  gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', (s) => s.kvUsage);

  const mirrored = (name: string, help: string, read: (s: TwinStats) => number) =>
    mirroredCounter(registry, name, help, labelNames, [{ labels, read: () => read(opts.stats()) }]);
  mirrored('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', (s) => s.prefixQueriedTokens);
  mirrored('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', (s) => s.prefixHitTokens);
  mirrored('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.', (s) => s.preemptions);
  mirrored('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', (s) => s.promptTokens);
  mirrored('vllm:generation_tokens_total', 'Number of generation tokens processed.', (s) => s.generationTokens);

  if (opts.kvTransfer) kvTransferMetrics(registry, labels, opts.kvTransfer);
  if (opts.lora) {
    // vLLM's: the adapters running and waiting in the labels, the time they were read as the value.
    new Gauge({
      name: 'vllm:lora_requests_info',
      help: 'Running stats on lora requests.',
      labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'] as const,
      registers,
      collect() {
        const { running, waiting, max } = opts.stats().lora;
        this.reset();
        this.set({ max_lora: String(max), running_lora_adapters: running.join(','), waiting_lora_adapters: waiting.join(',') }, Date.now() / 1000);
      },
    });
  }

  const info = opts.stats();
  const cacheInfo = new Gauge({
    name: 'vllm:cache_config_info',
    help: 'Information of the LLMEngine CacheConfig',
    labelNames: ['block_size', 'num_gpu_blocks', 'cache_dtype', 'enable_prefix_caching', 'engine'] as const,
    registers,
  });
  cacheInfo.set({ block_size: String(info.blockSize), num_gpu_blocks: String(info.numGpuBlocks), cache_dtype: opts.cacheDtype, enable_prefix_caching: 'True', engine: '0' }, 1);

  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Count of successfully processed requests.',
    labelNames: ['model_name', 'engine', 'finished_reason'] as const,
    registers,
  });
  // Bound to this server's labels once: observe() is on the per-token path.
  const histogram = (name: string, help: string, buckets: number[]) => {
    const h = new Histogram({ name, help, labelNames, buckets, registers });
    h.zero(labels);
    return h.labels(labels);
  };
  const ttft = histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
  const itl = histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
  const e2e = histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_BUCKETS);
  const queue = histogram('vllm:request_queue_time_seconds',
    'Histogram of time spent in WAITING phase for request. Simulated twin: time to first token minus the request\'s own prefill time on the step-time model.',
    REQUEST_BUCKETS);

  return {
    registry,
    observeFirstToken(seconds) {
      ttft.observe(seconds);
    },
    observeInterToken(gap) {
      itl.observe(gap);
    },
    observeFinish(seconds, reason, queueTime) {
      success.inc({ ...labels, finished_reason: reason });
      e2e.observe(seconds);
      if (queueTime !== undefined) queue.observe(Math.max(0, queueTime));
    },
    render: () => registry.metrics(),
  };
}

/**
 * What the NixlConnector flow did on this twin, read from the server's counters at scrape time:
 * pulls a decode twin made (by outcome), holds a prefill twin keeps, had pulled and freed.
 */
function kvTransferMetrics(registry: Registry, labels: { model_name: string; engine: string }, read: () => KvTransferCounts): void {
  const registers = [registry];
  const counter = (name: string, help: string, label: string, values: Record<string, (c: KvTransferCounts) => number>) =>
    mirroredCounter(registry, name, help, ['model_name', 'engine', label], Object.entries(values).map(([value, get]) => ({ labels: { ...labels, [label]: value }, read: () => get(read()) })));
  counter('inferstack_twin_kv_pulls_total', 'Simulated NIXL KV pulls this (decode) twin made from a prefill twin; failed ones were recomputed locally.', 'outcome', {
    ok: (c) => c.pullsOk,
    failed: (c) => c.pullsFailed,
  });
  counter('inferstack_twin_kv_holds_total', 'Prompt KV this (prefill) twin held for a remote decode: pulled by a decode twin, freed on release or on expiry.', 'event', {
    held: (c) => c.held + c.released + c.expired,
    pulled: (c) => c.pulled,
    released: (c) => c.released,
    expired: (c) => c.expired,
  });
  new Gauge({
    name: 'inferstack_twin_kv_holds',
    help: 'Prompt KV this (prefill) twin holds now for a remote decode.',
    labelNames: ['model_name', 'engine'],
    registers,
    collect() {
      this.set(labels, read().held);
    },
  });
}

/**
 * A counter that mirrors cumulative totals read at scrape time: each scrape adds what happened
 * since the last one. Every series is present at 0 from the first scrape, as on vLLM.
 */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], series: Array<{ labels: Record<string, string>; read: () => number }>): void {
  const seen = series.map(() => 0);
  const counter = new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      series.forEach((s, i) => {
        const total = s.read();
        if (total > seen[i]!) this.inc(s.labels, total - seen[i]!);
        seen[i] = Math.max(seen[i]!, total);
      });
    },
  });
  for (const s of series) counter.inc(s.labels, 0);
}
