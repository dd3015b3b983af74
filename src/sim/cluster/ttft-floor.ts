// The TTFT floor of a trace: what each request's first token would cost on an idle replica, with
// no queue and no other request's decodes in the step, only its own prefill (chunked at the step
// token budget, as the twin does). No routing policy can beat it for a request with that many
// cached tokens, so its p90 says how much of a policy's p90 TTFT is queueing and how much is the
// prompts' own length. Three cache assumptions: nothing cached; one LRU cache as large as the
// whole cluster's KV (what perfect placement over LRU engines could at best keep); and an infinite
// cache (the trace's ceiling).
import { summarize, type LatencySummary } from '../../bench/stats.ts';
import type { TraceRequest } from '../../bench/traces/types.ts';
import type { StepTimeModel } from '../../physics/types.ts';
// The twin core's defaults, which are vLLM's (max_num_batched_tokens, max_num_seqs).
import { DEFAULT_MAX_NUM_BATCHED_TOKENS, DEFAULT_MAX_NUM_SEQS } from '../../twin/core/scheduler.ts';

/** Seconds to prefill `promptTokens` on an idle replica when `cachedTokens` are already in its KV. */
export function idlePrefillSeconds(model: StepTimeModel, promptTokens: number, cachedTokens: number, budget = DEFAULT_MAX_NUM_BATCHED_TOKENS): number {
  // The engine recomputes at least the last prompt token, so a full hit still costs one step.
  let done = Math.max(0, Math.min(cachedTokens, promptTokens - 1));
  let seconds = 0;
  while (done < promptTokens) {
    const tokens = Math.min(budget, promptTokens - done);
    seconds += model.stepSeconds({ prefill: [{ tokens, cachedContext: done }], decode: [] });
    done += tokens;
  }
  return seconds;
}

export interface FloorCase {
  /** Idle-replica TTFT over the requests, ms. */
  ttftMs: LatencySummary;
  /** Cached prompt tokens over prompt tokens. */
  hitRate: number;
}

export interface TtftFloor {
  uncached: FloorCase;
  /** One LRU cache of `lruTokens` (the cluster's total KV) in front of every request. */
  clusterLru: FloorCase;
  infiniteCache: FloorCase;
}

export interface TtftFloorOptions {
  model: StepTimeModel;
  /** The engines' KV block size (only full blocks are cached). */
  blockSize: number;
  /** Total KV tokens of the cluster (replicas x blocks x block size). */
  lruTokens: number;
  /** The request's chained prefix keys and their size in tokens (Mooncake hash ids, or hashed blocks). */
  blockKeys: (r: TraceRequest) => { keys: readonly (number | bigint)[]; blockTokens: number };
}

/** Per-request floors over a trace in arrival order, summarised. */
export function ttftFloor(requests: readonly TraceRequest[], o: TtftFloorOptions): TtftFloor {
  const seen = new Set<number | bigint>();
  const lru = new Map<number | bigint, true>();
  const rows = { uncached: [] as number[], clusterLru: [] as number[], infiniteCache: [] as number[] };
  const hits = { uncached: 0, clusterLru: 0, infiniteCache: 0 };
  let total = 0;
  for (const r of requests) {
    const { keys, blockTokens } = r.prefixBlocks ? { keys: r.prefixBlocks.ids, blockTokens: r.prefixBlocks.blockTokens } : o.blockKeys(r);
    const lruBlocks = Math.max(1, Math.floor(o.lruTokens / blockTokens));
    const cacheable = Math.floor((r.promptTokens - 1) / o.blockSize) * o.blockSize;
    const run = (has: (k: number | bigint) => boolean) => {
      let n = 0;
      while (n < keys.length && has(keys[n]!)) n++;
      return Math.min(n * blockTokens, cacheable);
    };
    const cached = { uncached: 0, clusterLru: run((k) => lru.has(k)), infiniteCache: run((k) => seen.has(k)) };
    for (const k of keys) {
      seen.add(k);
      lru.delete(k);
      lru.set(k, true);
    }
    while (lru.size > lruBlocks) lru.delete(lru.keys().next().value!);
    total += r.promptTokens;
    for (const c of ['uncached', 'clusterLru', 'infiniteCache'] as const) {
      hits[c] += cached[c];
      rows[c].push(idlePrefillSeconds(o.model, r.promptTokens, cached[c]) * 1000);
    }
  }
  const out = (c: keyof typeof rows): FloorCase => ({ ttftMs: summarize(rows[c]), hitRate: total > 0 ? hits[c] / total : 0 });
  return { uncached: out('uncached'), clusterLru: out('clusterLru'), infiniteCache: out('infiniteCache') };
}

// The floor under the trace's own load (loadedTtftFloor): each request on a replica that carries
// an even share of the trace's running decodes and no other prefill. It waits out the step in
// progress (half a decode step on average) and the step already planned (async scheduling, as
// vLLM), then prefills in chunks beside those decodes. Balancing moves a replica's queue, not the
// decodes every replica must carry, so on a decode-heavy trace this, not the idle-replica floor
// above, is what a policy's p90 is to be judged against. Nothing is cached: it is for traces
// without shared content.

export interface LoadedFloorOptions {
  model: StepTimeModel;
  replicas: number;
  /** The trace's arrivals are multiplied by this rate factor (as the simulator does). */
  rateScale: number;
}

export interface LoadedFloor extends FloorCase {
  /** Running decodes per replica at the trace's mean rate (Little's law, at most 256). */
  decodesPerReplica: number;
  /** One decode step of that batch, ms. */
  decodeStepMs: number;
}

export function loadedTtftFloor(requests: readonly Pick<TraceRequest, 'arrival' | 'promptTokens' | 'outputTokens'>[], o: LoadedFloorOptions): LoadedFloor {
  if (requests.length < 2) throw new RangeError('loadedTtftFloor: a rate needs at least two requests');
  // Not Math.max(...): a spread of a million arrivals overflows the stack.
  const span = (requests.reduce((m, r) => Math.max(m, r.arrival), -Infinity) - requests.reduce((m, r) => Math.min(m, r.arrival), Infinity)) / o.rateScale;
  const perReplicaRate = (requests.length - 1) / span / o.replicas;
  const meanOf = (f: (r: (typeof requests)[number]) => number) => requests.reduce((s, r) => s + f(r), 0) / requests.length;
  const meanOutput = meanOf((r) => r.outputTokens);
  // A running sequence attends over its prompt and, on average, half its output.
  const context = Math.round(meanOf((r) => r.promptTokens + r.outputTokens / 2));
  const step = (prefill: number, cached: number, decodes: number) =>
    o.model.stepSeconds({
      prefill: prefill > 0 ? [{ tokens: prefill, cachedContext: cached }] : [],
      decode: Array.from({ length: decodes }, () => ({ contextLength: context })),
    });
  // Little's law: decodes = rate x output tokens x step time, and the step grows with the decodes.
  // The fixed point by bisection; past 256 the engine caps the batch (and queues the rest).
  const excess = (n: number) => perReplicaRate * meanOutput * step(0, 0, Math.round(n)) - n;
  let lo = 0;
  let hi = DEFAULT_MAX_NUM_SEQS;
  if (excess(hi) > 0) lo = hi;
  else for (let i = 0; i < 30; i++) (excess((lo + hi) / 2) > 0 ? (lo = (lo + hi) / 2) : (hi = (lo + hi) / 2));
  const decodes = Math.round(lo);
  const decodeStep = step(0, 0, decodes);
  const chunk = Math.max(512, DEFAULT_MAX_NUM_BATCHED_TOKENS - decodes);
  const ttftMs = requests.map((r) => {
    let seconds = 1.5 * decodeStep;
    for (let done = 0; done < r.promptTokens; done += chunk) seconds += step(Math.min(chunk, r.promptTokens - done), done, decodes);
    return seconds * 1000;
  });
  return { ttftMs: summarize(ttftMs), hitRate: 0, decodesPerReplica: decodes, decodeStepMs: decodeStep * 1000 };
}
