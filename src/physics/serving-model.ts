// Analytic operating point of a continuous-batching engine (vLLM / TensorRT-LLM style) in steady
// state: given ISL/OSL and a concurrency (closed loop), a request rate (open loop) or unlimited rate,
// estimate TTFT, TPOT and throughput from the step-time model. The event-level twin (src/twin/core)
// simulates the same engine step by step; this estimator is the fast closed form the planner and the
// fit need (thousands of configurations per second).
//
// The fluid picture: N requests are admitted (limited by concurrency, max sequences and KV blocks);
// n_d of them decode, the rest are in their prefill phase. Every decoding request produces one token
// per step; conservation says the average step also carries p = n_d x ISL / (OSL - 1) prefill tokens,
// within the per-step token budget. Steps carrying a prefill chunk and decode-only steps are priced
// separately (one is compute bound, the other memory bound). Closed loop, Little's law closes it:
//   n_d = N x decodeTime / (TTFT + decodeTime),   decodeTime = (OSL - 1) x meanStep,
// and TTFT = the prefill steps plus an M/D/1 wait for the prefill budget, plus any admission queue.
import type { Deployment } from './deployment.ts';
import { PhysicsInputError } from './errors.ts';
import { maxSequencesAtContext } from './kv-capacity.ts';
import type { EngineKind } from './step-time.ts';
import type { PrefillWork } from './types.ts';

export interface EngineLimits {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** 'on-demand': blocks allocated as a sequence grows (vLLM); 'full': ISL + OSL reserved at admission (TRT-LLM GUARANTEED_NO_EVICT). */
  kvReservation: 'on-demand' | 'full';
}

export const ENGINE_LIMITS: Record<EngineKind, EngineLimits> = {
  vllm: { maxNumSeqs: 256, maxNumBatchedTokens: 8192, kvReservation: 'on-demand' },
  trtllm: { maxNumSeqs: 2048, maxNumBatchedTokens: 8192, kvReservation: 'full' },
};

export interface Workload {
  isl: number;
  osl: number;
  /** Closed loop: requests in flight. Infinity = unlimited rate (max throughput). */
  concurrency?: number;
  /** Open loop: arrivals per second. */
  rate?: number;
}

export type Limit = 'concurrency' | 'max-seqs' | 'kv-cache' | 'rate';

export interface OperatingPoint {
  /** Requests the engine can hold at once for this ISL/OSL (min of max sequences and KV). */
  maxRunning: number;
  /** Requests admitted (in the engine), and waiting outside it for admission. */
  running: number;
  queued: number;
  limitedBy: Limit;
  /** Mean decoding sequences per step and prefill tokens per step. */
  decodeBatch: number;
  prefillTokensPerStep: number;
  /** Mean step time = mean time between output tokens of a request (TPOT). */
  stepSec: number;
  decodeStepSec: number;
  prefillStepSec: number;
  ttftSec: number;
  tpotSec: number;
  requestsPerSec: number;
  outputTokS: number;
  inputTokS: number;
  /** Fraction of GPU time spent on prompt work (what prefill adds to the steps that carry it); splits cost between input and output. */
  prefillTimeFraction: number;
  /** Mean achieved FLOP/s and memory traffic per GPU: the power model's utilisation. */
  flopsPerSecPerGpu: number;
  bytesPerSecPerGpu: number;
  /** True when an open-loop rate exceeds what the deployment can serve (latencies unbounded). */
  saturated: boolean;
}

export interface EstimateOptions {
  limits?: Partial<EngineLimits>;
}

interface Phase {
  decodeBatch: number;
  prefillPerStep: number;
  meanStep: number;
  decodeStep: number;
  prefillStep: number;
  ttftEngine: number; // prefill phase, excluding the admission queue
  prefillShare: number; // fraction of steps that carry a prefill chunk
  meanFlops: number; // per GPU per mean step
  meanBytes: number; // per GPU per mean step
}

/** The engine profile's limits with any given overrides (undefined fields keep the default). */
export function resolveLimits(engine: EngineKind, overrides: Partial<EngineLimits> = {}): EngineLimits {
  const d = ENGINE_LIMITS[engine];
  return {
    maxNumSeqs: overrides.maxNumSeqs ?? d.maxNumSeqs,
    maxNumBatchedTokens: overrides.maxNumBatchedTokens ?? d.maxNumBatchedTokens,
    kvReservation: overrides.kvReservation ?? d.kvReservation,
  };
}

function limitsFor(dep: Deployment, opts?: EstimateOptions): EngineLimits {
  return resolveLimits(dep.engine, opts?.limits);
}

/** How many requests of this shape the engine holds at once, and what caps it. */
export function maxRunning(dep: Deployment, isl: number, osl: number, opts?: EstimateOptions): { n: number; by: 'max-seqs' | 'kv-cache' } {
  const limits = limitsFor(dep, opts);
  // On-demand allocation holds ISL + half the output on average; full reservation holds ISL + OSL.
  const footprint = limits.kvReservation === 'full' ? isl + osl : isl + osl / 2;
  const byKv = maxSequencesAtContext(dep.kv, footprint);
  return byKv < limits.maxNumSeqs ? { n: byKv, by: 'kv-cache' } : { n: limits.maxNumSeqs, by: 'max-seqs' };
}

/** Prefill work of `tokens` tokens spread over requests of `isl` tokens, as chunks with the right attention cost. */
export function prefillChunks(tokens: number, isl: number): Array<PrefillWork & { count: number }> {
  if (tokens <= 0) return [];
  const whole = Math.floor(tokens / isl);
  const rest = tokens - whole * isl;
  const chunks: Array<PrefillWork & { count: number }> = [];
  if (whole > 0) chunks.push({ tokens: isl, cachedContext: 0, count: whole });
  // A partial chunk sits on average half-way into its prompt.
  if (rest > 0) chunks.push({ tokens: rest, cachedContext: (isl - rest) / 2, count: 1 });
  return chunks;
}

/** The steady state with `nd` sequences decoding; everything else follows from it. */
function phaseAt(dep: Deployment, w: { isl: number; osl: number }, nd: number, limits: EngineLimits): Phase {
  const st = dep.stepTime;
  const decodeSteps = Math.max(w.osl - 1, 0);
  const ctx = w.isl + w.osl / 2; // mean context of a decoding sequence
  const decode = nd > 0 ? [{ contextLength: ctx, count: nd }] : [];
  const budget = Math.max(limits.maxNumBatchedTokens - nd, 1);
  const prefillPerStep = decodeSteps > 0 ? (nd * w.isl) / decodeSteps : budget;
  // A prefill-carrying step takes one prompt (or a budget-sized chunk), or more when prefill is dense.
  const chunk = Math.min(budget, Math.max(Math.min(w.isl, budget), prefillPerStep));
  const share = Math.min(1, prefillPerStep / chunk); // fraction of steps that carry prefill
  const decodeCost = nd > 0 ? st.breakdownWeighted({ prefill: [], decode }) : undefined;
  const prefillCost = st.breakdownWeighted({ prefill: prefillChunks(chunk, w.isl), decode });
  const decodeStep = decodeCost?.totalSec ?? 0;
  const prefillStep = prefillCost.totalSec;
  const meanStep = share * prefillStep + (1 - share) * decodeStep;
  // A prompt needs ceil(ISL / budget) prefill steps; it first waits for the current step (half a
  // step on average) and then, M/D/1-style, for the prompt tokens ahead of it. The prefill "server"
  // processes up to `budget` tokens per (full) step, so its utilisation is the prompt-token arrival
  // rate over that capacity.
  const fullStep = chunk >= budget ? prefillStep : st.breakdownWeighted({ prefill: prefillChunks(budget, w.isl), decode }).totalSec;
  const rho = Math.min(meanStep > 0 ? (prefillPerStep * fullStep) / (budget * meanStep) : 0, 0.999);
  const jobService = (w.isl * fullStep) / budget;
  const ttftEngine = meanStep / 2 + Math.ceil(w.isl / budget) * prefillStep + (rho / (2 * (1 - rho))) * jobService;
  return {
    decodeBatch: nd, prefillPerStep, meanStep, decodeStep, prefillStep, ttftEngine, prefillShare: share,
    meanFlops: share * prefillCost.flops + (1 - share) * (decodeCost?.flops ?? 0),
    meanBytes: share * prefillCost.bytes + (1 - share) * (decodeCost?.bytes ?? 0),
  };
}

/** OSL = 1 (prefill only, e.g. embeddings or scoring): N prompts share the token budget, step after step. */
function prefillOnly(dep: Deployment, w: { isl: number }, n: number, limits: EngineLimits): Phase {
  const budget = limits.maxNumBatchedTokens;
  const total = Math.max(n, 1e-9) * w.isl;
  const perStep = Math.min(budget, total);
  const cost = dep.stepTime.breakdownWeighted({ prefill: prefillChunks(perStep, w.isl), decode: [] });
  const steps = Math.max(1, total / budget);
  return {
    decodeBatch: 0, prefillPerStep: perStep, meanStep: cost.totalSec, decodeStep: 0, prefillStep: cost.totalSec,
    ttftEngine: Math.max(Math.ceil(w.isl / budget), steps) * cost.totalSec, prefillShare: 1, meanFlops: cost.flops, meanBytes: cost.bytes,
  };
}

/** Solve the closed loop for N admitted requests: find n_d where Little's law holds. */
function solveRunning(dep: Deployment, w: { isl: number; osl: number }, n: number, limits: EngineLimits): Phase {
  const decodeSteps = Math.max(w.osl - 1, 0);
  if (decodeSteps === 0) return prefillOnly(dep, w, n, limits);
  if (n <= 0) return phaseAt(dep, w, 0, limits);
  // The prefill budget caps how many can decode: n_d + n_d x ISL / (OSL - 1) <= budget.
  const budgetCap = (limits.maxNumBatchedTokens * decodeSteps) / (w.isl + decodeSteps);
  let lo = 0;
  let hi = Math.min(n, budgetCap * 0.999);
  const excess = (nd: number): number => {
    const ph = phaseAt(dep, w, nd, limits);
    const decodeTime = decodeSteps * ph.meanStep;
    return (n * decodeTime) / (ph.ttftEngine + decodeTime) - nd;
  };
  if (excess(hi) >= 0) return phaseAt(dep, w, hi, limits);
  for (let i = 0; i < 50 && hi - lo > 1e-4 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (excess(mid) > 0) lo = mid;
    else hi = mid;
  }
  return phaseAt(dep, w, (lo + hi) / 2, limits);
}

function pointFrom(dep: Deployment, w: Workload, ph: Phase, max: number, running: number, queued: number, limitedBy: Limit, queueWait: number, saturated: boolean): OperatingPoint {
  const decodeSteps = Math.max(w.osl - 1, 0);
  const perRequest = ph.ttftEngine + decodeSteps * ph.meanStep;
  const requestsPerSec = running / perRequest;
  return {
    maxRunning: max,
    running,
    queued,
    limitedBy,
    decodeBatch: ph.decodeBatch,
    prefillTokensPerStep: ph.prefillPerStep,
    stepSec: ph.meanStep,
    decodeStepSec: ph.decodeStep,
    prefillStepSec: ph.prefillStep,
    ttftSec: ph.ttftEngine + queueWait,
    tpotSec: decodeSteps > 0 ? ph.meanStep : 0,
    requestsPerSec,
    outputTokS: requestsPerSec * w.osl,
    inputTokS: requestsPerSec * w.isl,
    prefillTimeFraction: ph.meanStep > 0 ? Math.min(1, (ph.prefillShare * (ph.prefillStep - ph.decodeStep)) / ph.meanStep) : 1,
    flopsPerSecPerGpu: ph.meanStep > 0 ? ph.meanFlops / ph.meanStep : 0,
    bytesPerSecPerGpu: ph.meanStep > 0 ? ph.meanBytes / ph.meanStep : 0,
    saturated,
  };
}

function checkWorkload(dep: Deployment, w: { isl: number; osl: number }): void {
  if (!(Number.isInteger(w.isl) && w.isl >= 1)) throw new PhysicsInputError(`isl must be a positive integer, got ${w.isl}`);
  if (!(Number.isInteger(w.osl) && w.osl >= 1)) throw new PhysicsInputError(`osl must be a positive integer, got ${w.osl}`);
  if (w.isl + w.osl > dep.model.contextLength) {
    throw new PhysicsInputError(`isl + osl = ${w.isl + w.osl} tokens exceeds ${dep.model.id}'s context of ${dep.model.contextLength} tokens`);
  }
}

/** Operating point at a closed-loop concurrency (Infinity: unlimited rate, the max-throughput point). */
export function estimateAtConcurrency(dep: Deployment, w: Workload & { concurrency: number }, opts?: EstimateOptions): OperatingPoint {
  checkWorkload(dep, w);
  if (!(w.concurrency >= 1)) throw new PhysicsInputError(`concurrency must be at least 1, got ${w.concurrency}`);
  const limits = limitsFor(dep, opts);
  const max = maxRunning(dep, w.isl, w.osl, opts);
  const running = Math.min(w.concurrency, max.n);
  if (running < 1) throw new PhysicsInputError(`a request of ${w.isl}+${w.osl} tokens does not fit in the KV cache (${dep.kv.kvTokens} tokens)`);
  const ph = solveRunning(dep, w, running, limits);
  const base = pointFrom(dep, w, ph, max.n, running, 0, w.concurrency <= max.n ? 'concurrency' : max.by, 0, false);
  if (!Number.isFinite(w.concurrency) || w.concurrency <= max.n) return { ...base, queued: Number.isFinite(w.concurrency) ? 0 : Infinity };
  // More clients than slots: the rest wait for admission; Little's law on that queue.
  const queued = w.concurrency - running;
  const wait = queued / base.requestsPerSec;
  return { ...base, queued, ttftSec: base.ttftSec + wait };
}

/** Maximum output throughput: unlimited request rate (like `trtllm-bench throughput`). */
export function estimateMaxThroughput(dep: Deployment, w: { isl: number; osl: number }, opts?: EstimateOptions): OperatingPoint {
  return estimateAtConcurrency(dep, { ...w, concurrency: Infinity }, opts);
}

/**
 * Operating point with `running` requests admitted and no admission queue (the open-loop state at
 * whatever rate it sustains). The planner tabulates this over `running` to answer many rates fast.
 */
export function estimateAtRunning(dep: Deployment, w: { isl: number; osl: number }, running: number, opts?: EstimateOptions): OperatingPoint {
  checkWorkload(dep, w);
  const limits = limitsFor(dep, opts);
  const max = maxRunning(dep, w.isl, w.osl, opts);
  const n = Math.min(Math.max(running, 1e-6), max.n);
  return pointFrom(dep, w, solveRunning(dep, w, n, limits), max.n, n, 0, 'rate', 0, false);
}

/** Operating point at an open-loop arrival rate (requests/s). */
export function estimateAtRate(dep: Deployment, w: Workload & { rate: number }, opts?: EstimateOptions): OperatingPoint {
  checkWorkload(dep, w);
  if (!(w.rate > 0 && Number.isFinite(w.rate))) throw new PhysicsInputError(`rate must be a positive number, got ${w.rate}`);
  const limits = limitsFor(dep, opts);
  const max = maxRunning(dep, w.isl, w.osl, opts);
  const top = solveRunning(dep, w, max.n, limits);
  const topPoint = pointFrom(dep, w, top, max.n, max.n, 0, max.by, 0, false);
  if (w.rate >= topPoint.requestsPerSec) {
    return { ...topPoint, limitedBy: 'rate', ttftSec: Infinity, queued: Infinity, saturated: true };
  }
  // Find the number in the engine whose throughput equals the arrival rate (throughput grows with N).
  let lo = 0;
  let hi = max.n;
  for (let i = 0; i < 50 && hi - lo > 1e-3; i++) {
    const mid = (lo + hi) / 2;
    const ph = solveRunning(dep, w, mid, limits);
    const x = mid / (ph.ttftEngine + Math.max(w.osl - 1, 0) * ph.meanStep);
    if (x < w.rate) lo = mid;
    else hi = mid;
  }
  const n = Math.max((lo + hi) / 2, 1e-6);
  const ph = solveRunning(dep, w, n, limits);
  return pointFrom(dep, w, ph, max.n, n, 0, 'rate', 0, false);
}
