// The virtual cluster: N twin cores on one virtual clock, routed by the REAL scheduler. Signals
// reach the scheduler as they would live: metrics snapshots every `scrapeInterval` of virtual time
// (so they lag), KV events after `kvEventLatency`, and the router's own in-flight accounting at once.
// With prefill/decode disaggregation, the prompt's KV moves from the prefill to the decode replica
// over the network (transfer time from the model's KV bytes per token and the link bandwidth).
import type { TraceRequest } from '../../bench/traces/types.ts';
import { SampleBuffer } from '../../bench/stats.ts';
import { PreciseIndex } from '../../kv/precise-index.ts';
import type { Deployment } from '../../physics/deployment.ts';
import { createScheduler, DEFAULT_PD_THRESHOLD } from '../../scheduler/index.ts';
import { addPendingPrefill } from '../../scheduler/signals.ts';
import { hashBlocks } from '../../twin/core/block-hash.ts';
import type { SaturationThresholds } from '../../scheduler/saturation.ts';
import type { EndpointView, Scheduler, SchedulingRequest } from '../../scheduler/types.ts';
import { DEFAULT_LIMITS } from '../../gateway/config.ts';
import { VirtualAdmissionQueue, type AdmissionLimits } from './admission.ts';
import { EventQueue } from './event-queue.ts';
import { Replica, type ReplicaEngineOptions } from './replica.ts';

export interface ClusterOptions {
  requests: readonly TraceRequest[];
  deployment: Deployment;
  modelName: string;
  replicas: number;
  policy: string;
  seed?: number;
  /** Prefill:decode split of the replicas (a ratio, e.g. 1:3); absent = aggregated. */
  pd?: { prefill: number; decode: number };
  pdThreshold?: number;
  /** Arrival times are divided by this (2 = twice the trace's request rate). */
  rateScale?: number;
  scrapeIntervalSeconds?: number;
  kvEventLatencySeconds?: number;
  /** KV transfer bandwidth between replicas, bytes/s per replica (default 50 GB/s per GPU, RDMA). */
  transferBytesPerSecond?: number;
  /** Saturation thresholds; null disables the check (default: the scheduler's, queue 5 / KV full). */
  saturation?: SaturationThresholds | null;
  /** The gateway's admission queue for saturated times (default: the gateway's, 1,024 requests, 30 s). */
  admission?: AdmissionLimits;
  /** Every replica's engine settings beyond the defaults (limits, async scheduling). */
  engine?: ReplicaEngineOptions;
  onProgress?: (done: number, total: number) => void;
  /** Per completed request, for analysis: where it ran, its TTFT and its cache hit at admission. */
  onRequestDone?: (r: { id: string; replica: string; promptTokens: number; cachedPromptTokens: number; ttft: number; e2e: number }) => void;
}

export interface ClusterResult {
  policy: string;
  requests: number;
  completed: number;
  shed: number;
  /** Requests the engine refused (e.g. prompt larger than the whole KV cache). */
  failed: number;
  ttft: SampleBuffer; // seconds, per completed request (bounded sample)
  e2e: SampleBuffer;
  itl: SampleBuffer; // seconds, every inter-token gap (bounded sample)
  /** Per request the policy predicted for: simulated TTFT from the decision minus the prediction, seconds. */
  ttftPredictionError: SampleBuffer;
  outputTokens: number;
  /** Prompt tokens of completed requests, and of those the cache supplied at first admission. */
  promptTokens: number;
  cachedPromptTokens: number;
  /** First arrival to last completion, virtual seconds. */
  makespan: number;
  /** The engines' own vllm:prefix_cache_* counters (re-counted when a preempted request returns). */
  prefixQueriedTokens: number;
  prefixHitTokens: number;
  preemptions: number;
  /** Requests each replica served in its role (a disaggregated request counts on both of its replicas). */
  requestsPerReplica: number[];
  roles: Array<'prefill' | 'decode' | 'both'>;
}

/** Policies that consume KV events (so the twins record them). */
const EVENT_POLICIES = new Set(['llm-d-precise', 'dynamo', 'inferstack']);

export function runCluster(o: ClusterOptions): ClusterResult {
  const queue = new EventQueue();
  const bs = o.deployment.kv.blockSize;
  const split = splitRoles(o.replicas, o.pd);
  const wantsEvents = EVENT_POLICIES.has(o.policy);
  const replicas = split.map(
    (role, i) =>
      new Replica(queue, {
        id: `r${i}`,
        model: o.modelName,
        role,
        stepTime: o.deployment.stepTime,
        numGpuBlocks: o.deployment.kv.numGpuBlocks,
        blockSize: bs,
        recordKvEvents: wantsEvents,
        engine: o.engine,
      }),
  );
  const byId = new Map(replicas.map((r) => [r.view.id, r]));
  const preciseIndex = new PreciseIndex({ engineHashesAreKeys: true, maxBlocksPerEndpoint: 4 * o.deployment.kv.numGpuBlocks });
  const scheduler: Scheduler = createScheduler(o.policy, {
    seed: o.seed ?? 1,
    preciseIndex,
    stepTime: o.deployment.stepTime,
    pd: o.pd ? { threshold: o.pdThreshold ?? DEFAULT_PD_THRESHOLD } : undefined,
    ...(o.saturation !== undefined ? { saturation: o.saturation } : {}),
  });
  if (wantsEvents) {
    const latency = o.kvEventLatencySeconds ?? 0.02;
    for (const r of replicas) {
      r.onKvEvents = (events, t) =>
        queue.at(t + latency, () => {
          for (const e of events) preciseIndex.applyEvent(r.view.id, e);
        });
    }
  }

  const view = { endpoints: replicas.map((r) => r.view) };
  const scale = o.rateScale ?? 1;
  const kvBytesPerToken = o.deployment.kv.kvBytesPerTokenPerGpu * o.deployment.tp;
  const bandwidth = o.transferBytesPerSecond ?? 50e9 * o.deployment.tp;
  const result: ClusterResult = {
    policy: o.policy,
    requests: o.requests.length,
    completed: 0,
    shed: 0,
    failed: 0,
    ttft: new SampleBuffer(),
    e2e: new SampleBuffer(),
    itl: new SampleBuffer(),
    ttftPredictionError: new SampleBuffer(),
    outputTokens: 0,
    promptTokens: 0,
    cachedPromptTokens: 0,
    makespan: 0,
    prefixQueriedTokens: 0,
    prefixHitTokens: 0,
    preemptions: 0,
    requestsPerReplica: replicas.map(() => 0),
    roles: split,
  };
  let settled = 0; // completed + shed + failed
  const total = o.requests.length;
  const firstArrival = total > 0 ? o.requests[0]!.arrival / scale : 0;
  const settle = () => {
    settled++;
    if (o.onProgress && (settled % 200 === 0 || settled === total)) o.onProgress(settled, total);
  };
  const shed = () => {
    result.shed++;
    settle();
  };
  const admission = new VirtualAdmissionQueue<{ tr: TraceRequest; arrivedAt: number }>(o.admission ?? { size: DEFAULT_LIMITS.queueSize, timeoutSeconds: DEFAULT_LIMITS.queueTimeoutMs / 1000 });
  const retryWaiting = (now: number, max?: number) => admission.drain((w) => dispatch(w.tr, w.arrivedAt, now), max);

  // Scrapes every interval while anything is outstanding.
  const scrapeEvery = o.scrapeIntervalSeconds ?? 0.05;
  const scrape = (t: number) => {
    for (const r of replicas) r.scrape(t);
    retryWaiting(t); // the live queue polls; fresh metrics may admit the line
    if (settled < total) queue.at(t + scrapeEvery, scrape);
  };
  queue.at(firstArrival, scrape);

  const account = (ep: EndpointView, sign: 1 | -1, promptTokens: number, blocks: number) => {
    ep.inflight.requests += sign;
    ep.inflight.promptTokens += sign * promptTokens;
    ep.inflight.predictedBlocks += sign * blocks;
  };

  const arrive = (tr: TraceRequest, t: number) => {
    // First come, first served: while others wait, a new request queues behind them.
    if (admission.depth === 0 && dispatch(tr, t, t)) return;
    // No retry here: room only appears with a scrape or a completion, and both retry the queue.
    if (!admission.offer({ tr, arrivedAt: t }, t)) return shed();
    queue.at(t + admission.timeoutSeconds, (at) => {
      for (const _ of admission.expire(at)) shed();
    });
  };

  let promptScratch = new Uint32Array(0);
  /** Routes and starts a request that arrived at `arrivedAt`; false when every endpoint is saturated. */
  const dispatch = (tr: TraceRequest, arrivedAt: number, t: number): boolean => {
    // The twin cores copy the prompt and the scheduler keeps only keys, so aggregated runs write
    // every prompt into one buffer; a disaggregated request needs its own until the decode leg.
    if (!o.pd && promptScratch.length < tr.promptTokens) promptScratch = new Uint32Array(Math.max(tr.promptTokens, 2 * promptScratch.length));
    const tokenIds = tr.tokenIds(o.pd ? undefined : promptScratch);
    const promptLength = tokenIds.length;
    // Hashed once, for the router's prefix lookups and every twin core the request visits.
    const promptBlockKeys = hashBlocks(tokenIds, bs);
    const req: SchedulingRequest = { id: tr.id, model: o.modelName, promptTokenIds: tokenIds, promptTokens: promptLength, maxTokens: tr.outputTokens, promptBlockKeys: { blockSize: bs, keys: promptBlockKeys } };
    const decision = scheduler.schedule(req, view, t);
    const decode = decision.endpoints[0];
    if (!decode) return false;
    const blocks = Math.ceil((promptLength + tr.outputTokens) / bs);
    const uncached = Math.max(0, promptLength - (decision.predictedCachedTokens ?? 0));
    const prefill = decision.prefill?.[0];
    const D = byId.get(decode.id)!;
    result.requestsPerReplica[replicas.indexOf(D)]!++;
    account(decode, 1, promptLength, blocks);
    let firstTokenAt = -1;
    let lastTokenAt = 0;
    let cachedAtAdmission = 0;
    const onDecodeFinish = (reason: string, ft: number, info?: { cachedPromptTokens: number }) => {
      account(decode, -1, promptLength, blocks);
      if (firstTokenAt < 0 && !prefill) addPendingPrefill(decode, uncached, -1);
      scheduler.onComplete?.(req, decode.id, ft);
      if (reason === 'rejected') result.failed++;
      else {
        result.completed++;
        const cached = prefill ? cachedAtAdmission : (info?.cachedPromptTokens ?? 0);
        result.promptTokens += promptLength;
        result.cachedPromptTokens += cached;
        o.onRequestDone?.({ id: tr.id, replica: decode.id, promptTokens: promptLength, cachedPromptTokens: cached, ttft: firstTokenAt - arrivedAt, e2e: ft - arrivedAt });
        result.e2e.push(ft - arrivedAt);
        result.makespan = Math.max(result.makespan, ft - firstArrival);
      }
      settle();
      // The live gateway wakes one waiter per completion; as its own event, outside the engine's step.
      if (admission.depth > 0) queue.at(ft, (at) => retryWaiting(at, 1));
    };
    const decodeObserver = {
      onToken: (_tok: number, tt: number) => {
        if (firstTokenAt < 0) {
          firstTokenAt = tt;
          result.ttft.push(tt - arrivedAt);
          if (decision.predictedTtftSeconds !== undefined) result.ttftPredictionError.push(tt - t - decision.predictedTtftSeconds);
          if (!prefill) addPendingPrefill(decode, uncached, -1);
        } else result.itl.push(tt - lastTokenAt);
        lastTokenAt = tt;
        result.outputTokens++;
      },
      onFinish: onDecodeFinish,
    };
    if (!prefill) {
      addPendingPrefill(decode, uncached, 1);
      D.core.add({ id: tr.id, promptTokenIds: tokenIds, promptBlockKeys, maxTokens: tr.outputTokens, arrivalTime: t }, decodeObserver);
      D.kick();
      return true;
    }
    // Disaggregated: prefill on P (1 token, blocks held), transfer, then decode on D.
    const P = byId.get(prefill.id)!;
    result.requestsPerReplica[replicas.indexOf(P)]!++;
    account(prefill, 1, promptLength, Math.ceil(promptLength / bs));
    addPendingPrefill(prefill, uncached, 1);
    const pid = `${tr.id}#prefill`;
    P.core.add(
      { id: pid, promptTokenIds: tokenIds, promptBlockKeys, maxTokens: 1, arrivalTime: t, holdBlocksAfterFinish: true },
      {
        onToken: () => {},
        onFinish: (reason, pt, info) => {
          cachedAtAdmission = info.cachedPromptTokens;
          account(prefill, -1, promptLength, Math.ceil(promptLength / bs));
          addPendingPrefill(prefill, uncached, -1);
          if (reason === 'rejected') {
            onDecodeFinish('rejected', pt, info);
            return;
          }
          const transfer = 0.001 + (promptLength * kvBytesPerToken) / bandwidth;
          queue.at(pt + transfer, (at) => {
            P.core.release(pid);
            P.kick(); // released blocks may unblock waiting prefills
            D.core.add({ id: tr.id, promptTokenIds: tokenIds, promptBlockKeys, maxTokens: tr.outputTokens, arrivalTime: at, promptKvTransferred: true }, decodeObserver);
            D.kick();
          });
        },
      },
    );
    P.kick();
    return true;
  };

  for (const tr of o.requests) queue.at(tr.arrival / scale, (t) => arrive(tr, t));
  while (queue.step()) {
    /* run to completion */
  }
  for (const r of replicas) {
    const s = r.core.stats();
    result.prefixQueriedTokens += s.prefixQueriedTokens;
    result.prefixHitTokens += s.prefixHitTokens;
    result.preemptions += s.preemptions;
  }
  return result;
}

/** Roles for N replicas: all 'both', or prefill first then decode in the P:D ratio (>= 1 each). */
export function splitRoles(n: number, pd?: { prefill: number; decode: number }): Array<'prefill' | 'decode' | 'both'> {
  if (!pd) return Array.from({ length: n }, () => 'both' as const);
  if (n < 2) throw new RangeError('prefill/decode needs at least 2 replicas');
  const p = Math.min(n - 1, Math.max(1, Math.round((n * pd.prefill) / (pd.prefill + pd.decode))));
  return Array.from({ length: n }, (_, i) => (i < p ? 'prefill' : 'decode'));
}
