// The KV cache a trace asks of a cluster over time, as a fluid estimate: each request holds its
// prompt from its arrival and one more token per decode step until its last output token, with
// no queue and no preemption. Where this demand passes the cluster's KV capacity, some requests
// must wait for memory whatever the router does (it can only choose which), so a p90 TTFT measured
// there says how a policy shares out an unavoidable shortage, not how well it balances load.
// Every request's whole prompt is counted, so where prompts share prefixes (and engines share
// their blocks) it is an upper bound.
import type { TraceRequest } from '../../bench/traces/types.ts';

export interface KvDemandOptions {
  /** The trace's arrivals are multiplied by this rate factor (as the simulator does). */
  rateScale: number;
  /** Seconds per output token while decoding (e.g. a run's mean inter-token latency). */
  decodeSecondsPerToken: number;
  /** The whole cluster's KV capacity, tokens. */
  capacityTokens: number;
  /** Demand is sampled this often, seconds (default 0.1). */
  sampleSeconds?: number;
}

export interface KvDemand {
  /** Highest demand over capacity. */
  peakRatio: number;
  /** When it peaked, seconds from the first arrival (scaled). */
  peakAtSeconds: number;
  /** Seconds of samples in which demand exceeded capacity. */
  secondsOverCapacity: number;
}

export function kvDemand(requests: readonly Pick<TraceRequest, 'arrival' | 'promptTokens' | 'outputTokens'>[], o: KvDemandOptions): KvDemand {
  if (!(o.rateScale > 0) || !(o.decodeSecondsPerToken > 0) || !(o.capacityTokens > 0)) throw new RangeError('kvDemand: rate scale, decode time and capacity must be positive');
  const dt = o.sampleSeconds ?? 0.1;
  const spans = requests
    .map((r) => ({ start: r.arrival / o.rateScale, end: r.arrival / o.rateScale + r.outputTokens * o.decodeSecondsPerToken, prompt: r.promptTokens }))
    .sort((a, b) => a.start - b.start);
  if (spans.length === 0) return { peakRatio: 0, peakAtSeconds: 0, secondsOverCapacity: 0 };
  const byEnd = [...spans].sort((a, b) => a.end - b.end);
  const t0 = spans[0]!.start;
  const last = byEnd.at(-1)!.end;
  // Demand at t = sum over live requests of prompt + (t - start) / tokenTime: kept as running sums.
  let started = 0;
  let ended = 0;
  let live = 0;
  let promptSum = 0;
  let startSum = 0;
  let peak = 0;
  let peakAt = 0;
  let over = 0;
  for (let t = t0; t <= last; t += dt) {
    for (; started < spans.length && spans[started]!.start <= t; started++) {
      live++;
      promptSum += spans[started]!.prompt;
      startSum += spans[started]!.start;
    }
    for (; ended < byEnd.length && byEnd[ended]!.end <= t; ended++) {
      live--;
      promptSum -= byEnd[ended]!.prompt;
      startSum -= byEnd[ended]!.start;
    }
    const demand = (promptSum + (live * t - startSum) / o.decodeSecondsPerToken) / o.capacityTokens;
    if (demand > peak) {
      peak = demand;
      peakAt = t - t0;
    }
    if (demand > 1) over += dt;
  }
  return { peakRatio: peak, peakAtSeconds: peakAt, secondsOverCapacity: over };
}

/** One line for a table: where the demand peaks against capacity, and what that means. */
export function formatKvDemand(d: KvDemand, decodeSecondsPerToken: number): string {
  const head = `KV demand (fluid estimate: prompts held from arrival, one token per ${(decodeSecondsPerToken * 1000).toFixed(1)} ms of decode after): peaks at ${d.peakRatio.toFixed(2)}x the cluster's KV, ${d.peakAtSeconds.toFixed(0)} s in`;
  return d.secondsOverCapacity > 0
    ? `${head}; over capacity for ${d.secondsOverCapacity.toFixed(1)} s: there some requests wait for memory whatever the router does\n`
    : `${head}\n`;
}
