// A pool at runtime: the endpoints serving a set of model names, the scheduler that picks among
// them, and the bounded admission queue requests wait in while every endpoint is saturated.
import { performance } from 'node:perf_hooks';
import { EndpointRuntime } from '../engines/endpoint.ts';
import { createScheduler, DEFAULT_PD_THRESHOLD, EVENT_FED_POLICIES } from '../scheduler/index.ts';
import type { ClusterView, Scheduler, SchedulingRequest } from '../scheduler/types.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { DEFAULT_POLICY, type Limits, type PoolConfig } from './config.ts';
import { ApiError as GatewayError } from '../http/api-error.ts';
import { accounting } from './interceptors/accounting.ts';
import { failover } from './interceptors/failover.ts';
import { compose, toEndpoint, type GatewayDispatch } from './interceptors/types.ts';
import { PoolKvFeed } from './kv-feed.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import { initPendingPrefill, type PickEstimate } from './pending-prefill.ts';
import { DEFAULT_TOKENIZE_TIMEOUT_MS, PromptTokenizer, TOKENIZE_ENGINES } from './prompt-tokenizer.ts';
import { createTokenizer } from '../tokenizer/index.ts';

function promptTokenizer(config: PoolConfig, endpoints: EndpointRuntime[], metrics: GatewayMetrics, logger: Logger): PromptTokenizer {
  const t = config.tokenizer!;
  const source =
    t.source === 'engine'
      ? { engines: endpoints.filter((e) => TOKENIZE_ENGINES.includes(e.config.engineType)), timeoutMs: t.timeoutMs ?? DEFAULT_TOKENIZE_TIMEOUT_MS }
      : { local: t.source === 'file' ? t.loaded! : createTokenizer() };
  const how =
    t.source === 'file' ? `the model's tokenizer.json (${t.path})`
    : t.source === 'builtin' ? 'the built-in tokenizer (as twins without --tokenizer)'
    : `the engines' /tokenize${t.byDefault ? ' (the default where vLLM engines publish KV events)' : ''}`;
  logger.log('info', `prompts are tokenized with ${how}`, { pool: config.name });
  const time = metrics.tokenizeTime.seriesFor(config.name);
  return new PromptTokenizer({
    poolName: config.name, source, logger,
    onOutcome: (outcome, seconds) => {
      metrics.tokenizations.seriesFor(config.name, outcome).inc();
      if (seconds !== undefined) time.observe(seconds);
    },
  });
}

export interface Routed {
  /** Decode (or only) endpoints, best first; the rest are fallbacks. */
  endpoints: EndpointRuntime[];
  /** Set when the scheduler chose to disaggregate. */
  prefill?: EndpointRuntime[];
  /** The scheduler's estimates (cached prompt, predicted TTFT) for the endpoint that fills the KV (prefill pick if any). */
  cached?: PickEstimate;
}

/** How often the queue offers room to its line when nothing finished (scrapes refresh at 50 ms). */
const QUEUE_POLL_MS = 50;

export class ModelPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly models: string[];
  readonly adapters: Set<string>;
  readonly endpoints: EndpointRuntime[];
  readonly scheduler: Scheduler;
  readonly queue: AdmissionQueue<Routed>;
  /** This pool's upstream pipeline: failover around per-attempt accounting around the engine call. */
  readonly send: GatewayDispatch;
  /** Engines' KV events feeding the precise index the scheduler reads (none configured: unused). */
  readonly kvFeed: PoolKvFeed;
  /** The pool's prompt tokenizer (YAML `tokenizer`); without one, the built-in tokenizer and an estimate. */
  readonly tokenizer: PromptTokenizer | undefined;
  private readonly view: ClusterView;
  private readonly byId = new Map<string, EndpointRuntime>();

  constructor(config: PoolConfig, endpoints: EndpointRuntime[], limits: Limits, metrics: GatewayMetrics, logger: Logger) {
    this.name = config.name;
    this.config = config;
    this.models = config.models;
    this.adapters = new Set(config.adapters ?? []);
    this.endpoints = endpoints;
    for (const e of endpoints) {
      this.byId.set(e.id, e);
      initPendingPrefill(e.view); // kept as it is for an endpoint carried over by a reload
    }
    this.view = { endpoints: endpoints.map((e) => e.view) };
    const depth = metrics.queueDepth.labels(config.name);
    const queueTime = metrics.queueTime.labels(config.name);
    this.queue = new AdmissionQueue<Routed>({
      maxSize: limits.queueSize,
      timeoutMs: limits.queueTimeoutMs,
      pollMs: QUEUE_POLL_MS,
      onDepth: (d) => depth.set(d),
      onExit: (exit, waited) => {
        metrics.queueExits.labels(config.name, exit).inc();
        if (exit === 'admitted') queueTime.observe(waited);
      },
    });
    // config.endpoints[i] is endpoints[i] (state.ts builds one runtime per YAML endpoint, in order).
    const kvSources = config.endpoints.flatMap((e, i) => (e.kvEvents && endpoints[i] ? [{ endpointId: endpoints[i].id, config: e.kvEvents }] : []));
    this.kvFeed = new PoolKvFeed(kvSources, metrics, logger);
    const policy = config.policy ?? DEFAULT_POLICY;
    if (!this.kvFeed.enabled && EVENT_FED_POLICIES.includes(policy)) {
      logger.log('warn', 'the policy reads KV events and no endpoint of the pool publishes them (kvEvents): it sees only its own decisions, for 2 s each', { pool: config.name, policy });
    }
    this.tokenizer = config.tokenizer && promptTokenizer(config, endpoints, metrics, logger);
    this.scheduler = createScheduler(policy, {
      ...(this.kvFeed.enabled ? { preciseIndex: this.kvFeed.index } : {}),
      // Without a step-time model inferstack ranks by the same formula in prompt tokens (ttft-predictor.ts).
      ...(config.stepTime ? { stepTime: config.stepTime } : {}),
      ...(config.seed !== undefined ? { seed: config.seed } : {}),
      ...(config.saturation !== undefined ? { saturation: config.saturation } : {}),
      ...(config.disaggregation ? { pd: { threshold: config.disaggregation.threshold ?? DEFAULT_PD_THRESHOLD } } : {}),
    });
    this.send = compose(
      toEndpoint,
      accounting({ metrics, poolName: config.name, onAttemptEnd: (endpointId, opts) => this.completed(opts.scheduling, endpointId) }),
      failover({
        maxRetries: limits.maxRetries,
        onRetry: (from, to, why) => {
          metrics.retries.labels(config.name).inc();
          logger.log('warn', 'retrying on another endpoint', { pool: config.name, from, to, why });
        },
      }),
    );
  }

  /** Model names this pool answers to: base models and LoRA adapters. */
  servedNames(): string[] {
    return [...this.models, ...this.adapters];
  }

  /** The block size of the pool's engines as scraped (the first that reports one), for request block keys. */
  get blockSize(): number | undefined {
    for (const e of this.endpoints) if (e.view.metrics.blockSize) return e.view.metrics.blockSize;
    return undefined;
  }

  get ready(): boolean {
    return this.endpoints.some((e) => e.view.healthy);
  }

  /**
   * Asks the scheduler; waits in the admission queue while every candidate is saturated (by its
   * scraped metrics or by the gateway's own concurrency limit), and behind anyone already waiting
   * there. 503 when nothing is healthy, 429 when the queue is full or the wait times out.
   * Synchronous unless it has to wait (most requests do not), so the common case costs no promise.
   */
  route(request: SchedulingRequest, clientGone: () => AbortSignal): Routed | Promise<Routed> {
    const routed = this.queue.depth === 0 ? this.tryRoute(request) : undefined;
    // One lane per model name: an adapter whose endpoints are busy does not hold back the others.
    return routed ?? this.queue.enqueue(request.priority ?? 0, () => this.tryRoute(request), clientGone(), request.model);
  }

  /** One scheduling decision; undefined when every candidate is saturated. */
  private tryRoute(request: SchedulingRequest): Routed | undefined {
    const decision = this.scheduler.schedule(request, this.view, performance.now() / 1000);
    if (decision.reject === 'no-healthy') {
      throw new GatewayError(503, `no healthy endpoint serves model '${request.model}'`, { code: 'no_healthy_endpoint', headers: { 'retry-after': '1' } });
    }
    const endpoints = this.unsaturated(decision.endpoints);
    if (endpoints.length === 0) return undefined;
    const prefill = decision.prefill && this.unsaturated(decision.prefill);
    const routed: Routed = prefill && prefill.length > 0 ? { endpoints, prefill } : { endpoints };
    if (decision.predictedCachedTokens !== undefined) {
      const filled = decision.prefill?.[0] ?? decision.endpoints[0]!;
      routed.cached = { endpointId: filled.id, tokens: decision.predictedCachedTokens };
      if (decision.predictedTtftSeconds !== undefined) routed.cached.ttftSeconds = decision.predictedTtftSeconds;
    }
    return routed;
  }

  /** The runtimes of the chosen views that can take one more request, in the scheduler's order. */
  private unsaturated(views: readonly { id: string }[]): EndpointRuntime[] {
    const out: EndpointRuntime[] = [];
    for (const v of views) {
      const e = this.byId.get(v.id)!;
      if (!e.saturated) out.push(e);
    }
    return out;
  }

  /** A request finished on `endpointId`: let the scheduler learn and a queued request try. */
  completed(request: SchedulingRequest, endpointId: string): void {
    this.scheduler.onComplete?.(request, endpointId, performance.now() / 1000);
    this.queue.wake();
  }

  start(): void {
    for (const e of this.endpoints) e.start();
    this.kvFeed.start();
  }

  /** Stops this pool's KV event subscribers (its endpoints are closed by state.ts). */
  async close(): Promise<void> {
    await this.kvFeed.close();
  }
}
