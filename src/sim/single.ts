// One simulated replica under a closed loop: `concurrency` requests in flight, each finished request
// immediately replaced by the next, until `requests` have been issued. Virtual clock: the loop
// jumps from step to step, so it runs far faster than real time. The engine is the twin core with
// its step-time model; results are simulated, not measured.
import { performance } from 'node:perf_hooks';
import type { StepTimeModel } from '../physics/types.ts';
import { createTwinCore, DEFAULT_BLOCK_SIZE } from '../twin/core/engine.ts';
import type { FinishReason, TwinRequestObserver } from '../twin/core/types.ts';
import { SampleBuffer, scaleSummary, type LatencySummary } from '../bench/stats.ts';
import { createPromptSource } from './prompts.ts';

export interface SingleSimOptions {
  stepTime: StepTimeModel;
  numGpuBlocks: number;
  blockSize?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  /** Default true (vLLM's default). */
  enablePrefixCaching?: boolean;
  /** Plan each step while the previous one runs (vLLM's default; see TwinCoreOptions). Default true. */
  asyncScheduling?: boolean;
  /** 'on-demand' (vLLM, default) or 'full' (TensorRT-LLM reserves prompt + output at admission). */
  kvReservation?: 'on-demand' | 'full';
  /** Prompt tokens per request. */
  isl: number;
  /** Output tokens per request (generated to the end: no early stop). */
  osl: number;
  concurrency: number;
  /** Requests issued in total. */
  requests: number;
  /** Leading prompt tokens every request shares (a common system prompt). Default 0: prompts are distinct. */
  sharedPrefixTokens?: number;
  /** Seeds the prompt tokens. Default 1. */
  seed?: number;
  /**
   * The first N requests issued are left out of the latency statistics (the cold-start burst: all
   * `concurrency` prompts arrive at once). Default 0. Throughput always covers the whole run.
   */
  warmupRequests?: number;
  /**
   * Each replacement request arrives after a random client delay, uniform in [0, this] seconds
   * (seeded). Default 0: at once. A little delay breaks the lock-step rhythm a deterministic closed
   * loop falls into (requests admitted together finish together and return together).
   */
  clientDelayMaxSeconds?: number;
  /**
   * How the first `concurrency` requests start, all at time 0. 'burst' (default): each with the
   * full output, so a deterministic loop stays in lock step (requests admitted together finish and
   * return together). 'staggered': request i of the first wave stops after
   * round((i + 1) x osl / concurrency) tokens, so the replacements come back spread evenly over one
   * request's lifetime: the clients are out of phase from then on. Leave that wave out as warm-up.
   */
  start?: 'burst' | 'staggered';
  /**
   * Draw each request's prompt at random (seeded) from this many distinct prompts, as a benchmark
   * with a fixed dataset does (aiperf: 100 entries). Default 0: every request its own prompt.
   */
  promptPool?: number;
  /**
   * Run the warm-up requests as a phase of their own, as aiperf does: once they are all issued, no
   * request is issued until they have all finished; then the measured requests start together.
   * Default false: one continuous loop.
   */
  drainAfterWarmup?: boolean;
}

export interface SingleSimResult {
  ttft_ms: LatencySummary;
  tpot_ms: LatencySummary;
  itl_ms: LatencySummary;
  e2e_ms: LatencySummary;
  /** Output tokens per second over the whole run (first arrival to last finish). */
  throughput_tok_s: number;
  preemptions: number;
  /** Prompt tokens served from the prefix cache / prompt tokens looked up. */
  prefix_hit_rate: number;
  /** Requests that finished with all their tokens (warm-up included). */
  requests: number;
  rejected: number;
  simulated_seconds: number;
  wall_seconds: number;
  steps: number;
}

/** Token ids held by the requests in flight at most (about 8 bytes each). */
const MAX_TOKENS_IN_FLIGHT = 32_000_000;

/** The run's latency samples and counters, fed by every request's tracker. */
class RunStats {
  readonly ttft = new SampleBuffer(100_000);
  readonly tpot = new SampleBuffer(100_000);
  readonly e2e = new SampleBuffer(100_000);
  // Every inter-token gap is offered to a uniform sample of 16,384 (128 kB, so it stays in cache;
  // the p99's rank has a standard error of 0.08 %). With 100,000 samples, random writes missing
  // the cache took a fifth of a 128/128 step.
  readonly itl = new SampleBuffer(16_384);
  completed = 0;
  rejected = 0;
  outputTokens = 0;
  lastFinish = 0;
  readonly warmup: number;
  /** Called when a request ends, to issue the next one (closed loop). */
  readonly onEnd: (time: number) => void;

  constructor(warmup: number, onEnd: (time: number) => void) {
    this.warmup = warmup;
    this.onEnd = onEnd;
  }
}

/**
 * Observes one request. A class rather than per-request closures: every request then shares the
 * same onToken function, so the core's call site stays monomorphic (it runs once per token).
 */
class RequestTracker implements TwinRequestObserver {
  private readonly stats: RunStats;
  private readonly index: number;
  private readonly arrival: number;
  private first = 0;
  private last = 0;
  private tokens = 0;

  constructor(stats: RunStats, index: number, arrival: number) {
    this.stats = stats;
    this.index = index;
    this.arrival = arrival;
  }

  onToken(_token: number, time: number): void {
    if (this.tokens === 0) this.first = time;
    else if (this.index >= this.stats.warmup) this.stats.itl.push(time - this.last);
    this.last = time;
    this.tokens++;
  }

  onFinish(reason: FinishReason, time: number): void {
    const s = this.stats;
    if (reason !== 'length') s.rejected++;
    else {
      s.completed++;
      s.outputTokens += this.tokens;
      s.lastFinish = time;
      if (this.index >= s.warmup) {
        s.ttft.push(this.first - this.arrival);
        s.e2e.push(time - this.arrival);
        if (this.tokens > 1) s.tpot.push((time - this.first) / (this.tokens - 1));
      }
    }
    s.onEnd(time);
  }
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

export function runSingleSim(opts: SingleSimOptions): SingleSimResult {
  positiveInt('isl', opts.isl);
  positiveInt('osl', opts.osl);
  positiveInt('concurrency', opts.concurrency);
  positiveInt('requests', opts.requests);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (opts.isl + opts.osl > opts.numGpuBlocks * blockSize) {
    throw new RangeError(`no request could run: isl ${opts.isl} + osl ${opts.osl} tokens does not fit the KV cache (${opts.numGpuBlocks} blocks of ${blockSize})`);
  }
  // Every request in flight holds its token ids: bound the memory that takes.
  if (Math.min(opts.concurrency, opts.requests) * (opts.isl + opts.osl) > MAX_TOKENS_IN_FLIGHT) {
    throw new RangeError(`concurrency x (isl + osl) must be at most ${MAX_TOKENS_IN_FLIGHT.toLocaleString('en')} tokens`);
  }
  const shared = opts.sharedPrefixTokens ?? 0;
  const warmup = opts.warmupRequests ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= opts.requests) {
    throw new RangeError(`warm-up requests must be an integer from 0 to requests - 1, got ${warmup}`);
  }
  if (opts.start !== undefined && opts.start !== 'burst' && opts.start !== 'staggered') throw new RangeError(`start must be 'burst' or 'staggered', got ${String(opts.start)}`);
  const seed = opts.seed ?? 1;
  const core = createTwinCore({
    stepTime: opts.stepTime,
    numGpuBlocks: opts.numGpuBlocks,
    blockSize,
    maxNumSeqs: opts.maxNumSeqs,
    maxNumBatchedTokens: opts.maxNumBatchedTokens,
    kvReservation: opts.kvReservation,
    enablePrefixCaching: opts.enablePrefixCaching,
    asyncScheduling: opts.asyncScheduling,
    recordKvEvents: false,
    maxWaiting: opts.concurrency,
  });

  let issued = 0; // requests issued or waiting on their client delay (the closed loop's count)
  let finished = 0;
  let nextIndex = 0;
  // With a drained warm-up, the loop first stops at the warm-up's end, then at the run's.
  let phaseEnd = opts.drainAfterWarmup && warmup > 0 ? warmup : opts.requests;
  const startWave = (time: number): void => {
    for (let i = 0; i < opts.concurrency && issued < phaseEnd; i++, issued++) issue(time);
  };
  const stats = new RunStats(warmup, (time) => {
    finished++;
    if (issued < phaseEnd) {
      issued++;
      replace(time); // closed loop
    } else if (finished === phaseEnd && phaseEnd < opts.requests) {
      phaseEnd = opts.requests; // the warm-up phase is over: the measured phase starts at once
      startWave(time);
    }
  });

  const promptFor = createPromptSource({ isl: opts.isl, sharedPrefixTokens: shared, seed, pool: opts.promptPool });
  const staggered = opts.start === 'staggered';
  const issue = (now: number): void => {
    const index = nextIndex++;
    const tracker = new RequestTracker(stats, index, now);
    const maxTokens = staggered && index < opts.concurrency ? Math.max(1, Math.round(((index + 1) * opts.osl) / opts.concurrency)) : opts.osl;
    core.add({ id: `r${index}`, promptTokenIds: promptFor(index), maxTokens, ignoreEos: true, arrivalTime: now }, tracker);
  };

  // Replacements delayed by the client wait here, earliest first, until the step boundary after their arrival.
  const delayMax = opts.clientDelayMaxSeconds ?? 0;
  if (!(delayMax >= 0 && Number.isFinite(delayMax))) throw new RangeError(`client delay must be a finite number >= 0, got ${delayMax}`);
  const pending: number[] = [];
  let rng = (seed * 0x2545f491) >>> 0 || 1;
  function replace(time: number): void {
    if (delayMax === 0) return issue(time);
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    rng >>>= 0;
    const at = time + (delayMax * rng) / 0x1_0000_0000;
    let i = pending.length;
    while (i > 0 && pending[i - 1]! > at) i--;
    pending.splice(i, 0, at);
  }

  const wallStart = performance.now();
  startWave(0);
  let now = 0;
  let steps = 0;
  for (;;) {
    while (pending.length > 0 && pending[0]! <= now) issue(pending.shift()!);
    const plan = core.planStep(now);
    if (!plan) {
      if (pending.length === 0) break;
      now = pending[0]!; // idle until the next client arrives
      continue;
    }
    now += plan.durationSeconds;
    core.commitStep(now);
    steps++;
  }
  const wall = (performance.now() - wallStart) / 1000;
  if (stats.completed === 0) throw new RangeError(`no request could run: isl ${opts.isl} + osl ${opts.osl} tokens does not fit the KV cache (${opts.numGpuBlocks} blocks)`);

  const s = core.stats();
  return {
    ttft_ms: scaleSummary(stats.ttft.summary(), 1000),
    tpot_ms: scaleSummary(stats.tpot.summary(), 1000),
    itl_ms: scaleSummary(stats.itl.summary(), 1000),
    e2e_ms: scaleSummary(stats.e2e.summary(), 1000),
    throughput_tok_s: stats.lastFinish > 0 ? stats.outputTokens / stats.lastFinish : 0,
    preemptions: s.preemptions,
    prefix_hit_rate: s.prefixQueriedTokens > 0 ? s.prefixHitTokens / s.prefixQueriedTokens : 0,
    requests: stats.completed,
    rejected: stats.rejected,
    simulated_seconds: now,
    wall_seconds: wall,
    steps,
  };
}
