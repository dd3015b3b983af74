// /metrics of the local engine in Prometheus text with vLLM's metric names, so the gateway's vLLM
// scraper (engine type `local`) reads it unchanged. One series per configured model (label
// `model_name`, as vLLM labels its series). llama.cpp has no KV blocks: it allocates KV per token,
// so cache_config_info reports block_size 1 and the capacity in tokens as num_gpu_blocks.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GenerateResult } from './engine.ts';
import type { ModelStatus, UnloadReason } from './registry.ts';

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E_BUCKETS = [0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 60, 120, 240, 480];
const COLD_START_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class LocalEngineMetrics {
  /** Gauges read from the engine at each scrape: a handful of lines, cheap to render. */
  readonly registry = new Registry();
  /**
   * Counters and histograms change only when a request finishes, a model loads or unloads, yet the
   * gateway scrapes every 50 ms and rendering the histograms was most of the scrape's CPU: their text
   * is cached and rendered again only after `version` moved.
   */
  readonly eventRegistry = new Registry();
  private version = 0;
  private cached: { version: number; body: Promise<string> } | undefined;
  private readonly promptTokens: Counter<'model_name'>;
  private readonly generationTokens: Counter<'model_name'>;
  private readonly prefixQueries: Counter<'model_name'>;
  private readonly prefixHits: Counter<'model_name'>;
  private readonly success: Counter<'model_name' | 'finished_reason'>;
  private readonly ttft: Histogram<'model_name'>;
  private readonly e2e: Histogram<'model_name'>;
  private readonly queue: Histogram<'model_name'>;
  private readonly coldStart: Histogram<'model_name'>;
  private readonly unloads: Counter<'model_name' | 'reason'>;

  constructor(status: () => ModelStatus[], loadWaiters: (model: string) => number) {
    const registers = [this.registry];
    const eventRegisters = [this.eventRegistry];
    const perModel = (name: string, help: string, value: (m: ModelStatus) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['model_name'],
        registers,
        collect() {
          this.reset();
          for (const m of status()) {
            const v = value(m);
            if (v !== undefined) this.set({ model_name: m.name }, v);
          }
        },
      });
    perModel('vllm:num_requests_running', 'Requests generating on a sequence.', (m) => m.stats?.running ?? 0);
    perModel('vllm:num_requests_waiting', 'Requests waiting for a sequence or for their model to load.', (m) => (m.stats?.waiting ?? 0) + loadWaiters(m.name));
    perModel('vllm:kv_cache_usage_perc', 'KV cache used by running sequences, 0..1 (loaded models only).', (m) =>
      m.stats ? m.stats.kvUsedTokens / m.stats.kvCapacityTokens : undefined);
    perModel('inferstack_local_kv_cached_tokens', 'KV tokens kept by idle sequences for prefix reuse.', (m) => m.stats?.kvCachedTokens);
    perModel('inferstack_local_model_loaded', '1 when the model is loaded, else 0.', (m) => (m.state === 'loaded' ? 1 : 0));
    perModel('inferstack_local_model_memory_estimate_bytes', 'Weights + KV estimate counted against the memory budget.', (m) => m.estimateBytes);
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'KV cache layout: llama.cpp allocates per token, so block_size is 1 and num_gpu_blocks is tokens.',
      labelNames: ['model_name', 'block_size', 'num_gpu_blocks'],
      registers,
      collect() {
        this.reset();
        for (const m of status()) {
          if (m.stats) this.set({ model_name: m.name, block_size: '1', num_gpu_blocks: String(m.stats.kvCapacityTokens) }, 1);
        }
      },
    });
    this.promptTokens = new Counter({ name: 'vllm:prompt_tokens_total', help: 'Prompt tokens processed.', labelNames: ['model_name'], registers: eventRegisters });
    this.generationTokens = new Counter({ name: 'vllm:generation_tokens_total', help: 'Tokens generated.', labelNames: ['model_name'], registers: eventRegisters });
    this.prefixQueries = new Counter({ name: 'vllm:prefix_cache_queries_total', help: 'Prompt tokens looked up in the sequences\' caches.', labelNames: ['model_name'], registers: eventRegisters });
    this.prefixHits = new Counter({ name: 'vllm:prefix_cache_hits_total', help: 'Prompt tokens whose KV a sequence already held.', labelNames: ['model_name'], registers: eventRegisters });
    this.success = new Counter({ name: 'vllm:request_success_total', help: 'Finished requests.', labelNames: ['model_name', 'finished_reason'], registers: eventRegisters });
    this.ttft = new Histogram({ name: 'vllm:time_to_first_token_seconds', help: 'Time to first token.', labelNames: ['model_name'], buckets: TTFT_BUCKETS, registers: eventRegisters });
    this.e2e = new Histogram({ name: 'vllm:e2e_request_latency_seconds', help: 'Request latency.', labelNames: ['model_name'], buckets: E2E_BUCKETS, registers: eventRegisters });
    this.queue = new Histogram({ name: 'vllm:request_queue_time_seconds', help: 'Time waiting for a sequence.', labelNames: ['model_name'], buckets: TTFT_BUCKETS, registers: eventRegisters });
    this.coldStart = new Histogram({
      name: 'inferstack_local_model_cold_start_seconds',
      help: 'Time from the first request for an unloaded model to the model being ready (validate + load + context).',
      labelNames: ['model_name'],
      buckets: COLD_START_BUCKETS,
      registers: eventRegisters,
    });
    this.unloads = new Counter({ name: 'inferstack_local_model_unloads_total', help: 'Model unloads.', labelNames: ['model_name', 'reason'], registers: eventRegisters });
  }

  observeRequest(model: string, r: GenerateResult): void {
    this.version++;
    const labels = { model_name: model };
    this.promptTokens.inc(labels, r.promptTokens);
    this.generationTokens.inc(labels, r.completionTokens);
    this.prefixQueries.inc(labels, r.promptTokens);
    this.prefixHits.inc(labels, r.cachedTokens);
    this.success.inc({ model_name: model, finished_reason: r.finishReason }, 1);
    if (r.ttftSeconds !== undefined) this.ttft.observe(labels, r.ttftSeconds);
    this.e2e.observe(labels, r.e2eSeconds);
    this.queue.observe(labels, r.queueSeconds);
  }

  observeColdStart(model: string, seconds: number): void {
    this.version++;
    this.coldStart.observe({ model_name: model }, seconds);
  }

  countUnload(model: string, reason: UnloadReason): void {
    this.version++;
    this.unloads.inc({ model_name: model, reason }, 1);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    if (this.cached?.version !== this.version) this.cached = { version: this.version, body: this.eventRegistry.metrics() };
    const [live, events] = await Promise.all([this.registry.metrics(), this.cached.body]);
    return { contentType: this.registry.contentType, body: live + events };
  }
}
