// Roofline view of the two phases: arithmetic intensity (FLOPs per byte of HBM traffic) against the
// part's ridge point, and which resource the step time is actually spent on.
import type { Deployment } from '../deployment.ts';
import { matmulFlops } from '../hardware.ts';
import type { StepBreakdown, WeightedBatch } from '../step-time.ts';

export type Resource = 'compute' | 'memory bandwidth' | 'interconnect' | 'fixed overheads';

export interface PhaseRoofline {
  /** What the step computes. */
  description: string;
  stepMs: number;
  flopsPerByte: number;
  bound: Resource;
  /** Which kernels dominate the step, e.g. 'linear layers (weights)'. */
  dominant: string;
  /** Share of the step spent in each kind of work. */
  shares: { linear: number; experts: number; attention: number; allReduce: number; overhead: number };
}

export interface Roofline {
  /** Peak FLOP/s over peak bandwidth: below this intensity a kernel cannot be compute bound. */
  ridgeFlopsPerByte: number;
  prefill: PhaseRoofline;
  decode: PhaseRoofline;
}

function phase(description: string, b: StepBreakdown): PhaseRoofline {
  const parts: Array<[string, number, Resource]> = [
    [`linear layers (${b.linearBound === 'compute' ? 'GEMMs' : 'weight reads'})`, b.linearSec, b.linearBound === 'compute' ? 'compute' : 'memory bandwidth'],
    [`MoE experts (${b.expertsBound === 'compute' ? 'GEMMs' : 'weight reads'})`, b.expertsSec, b.expertsBound === 'compute' ? 'compute' : 'memory bandwidth'],
    [`attention (${b.attentionBound === 'compute' ? 'FLOPs' : 'KV reads'})`, b.attentionSec, b.attentionBound === 'compute' ? 'compute' : 'memory bandwidth'],
    ['TP all-reduce', b.allReduceSec, 'interconnect'],
    ['per-step/layer/request overheads', b.overheadSec, 'fixed overheads'],
  ];
  // The bound is the resource that most of the step's time is spent on.
  const byResource = new Map<Resource, number>();
  for (const [, t, r] of parts) byResource.set(r, (byResource.get(r) ?? 0) + t);
  const bound = [...byResource.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const dominant = [...parts].sort((a, b) => b[1] - a[1])[0]![0];
  const total = b.totalSec || 1;
  return {
    description,
    stepMs: b.totalSec * 1e3,
    flopsPerByte: b.bytes > 0 ? b.flops / b.bytes : Infinity,
    bound,
    dominant,
    shares: { linear: b.linearSec / total, experts: b.expertsSec / total, attention: b.attentionSec / total, allReduce: b.allReduceSec / total, overhead: b.overheadSec / total },
  };
}

/** Prefill: one prompt of ISL tokens (up to the token budget) alone; decode: `batch` sequences at the mean context. */
export function roofline(dep: Deployment, isl: number, osl: number, decodeBatch: number, budget = 8192): Roofline {
  const chunk = Math.min(isl, budget);
  const prefillBatch: WeightedBatch = { prefill: [{ tokens: chunk, cachedContext: 0, count: 1 }], decode: [] };
  const batch = Math.max(1, Math.round(decodeBatch));
  const ctx = Math.round(isl + osl / 2);
  const decodeBatchW: WeightedBatch = { prefill: [], decode: [{ contextLength: ctx, count: batch }] };
  return {
    ridgeFlopsPerByte: matmulFlops(dep.hardware, dep.weightDtype) / dep.hardware.memBandwidthBytesPerSec,
    prefill: phase(`prefill of ${chunk} tokens`, dep.stepTime.breakdownWeighted(prefillBatch)),
    decode: phase(`decode step of ${batch} sequences at ${ctx} tokens of context`, dep.stepTime.breakdownWeighted(decodeBatchW)),
  };
}
