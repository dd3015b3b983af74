// A deployment's open-loop behaviour tabulated once over the number of requests in the engine, so
// the search can answer "what happens at rate R" for thousands of options by interpolation
// instead of re-solving the serving model each time.
import type { Deployment } from '../deployment.ts';
import { PhysicsInputError } from '../errors.ts';
import { estimateAtRunning, maxRunning, type OperatingPoint } from '../serving-model.ts';
import { sloMiss, type Slo } from './plan.ts';

export interface RateCurve {
  /** Points in increasing throughput; the last is the deployment at capacity. */
  points: OperatingPoint[];
  maxRequestsPerSec: number;
}

export function rateCurve(dep: Deployment, w: { isl: number; osl: number }, samples = 40): RateCurve {
  const max = maxRunning(dep, w.isl, w.osl).n;
  if (max < 1) throw new PhysicsInputError(`KV cache too small: what is left on ${dep.tp} x ${dep.hardware.id} (${dep.kv.kvTokens} tokens) holds no request of ${w.isl}+${w.osl} tokens`);
  const points: OperatingPoint[] = [];
  // Geometric grid from a nearly idle engine to a full one.
  const lo = Math.min(0.05, max);
  for (let i = 0; i < samples; i++) {
    const n = lo * Math.pow(max / lo, i / (samples - 1));
    points.push(estimateAtRunning(dep, w, n));
  }
  return { points, maxRequestsPerSec: points[points.length - 1]!.requestsPerSec };
}

const lerp = (a: number, b: number, t: number): number => (Number.isFinite(a) && Number.isFinite(b) ? a + (b - a) * t : b);

/** The operating point at `rate` requests/s, interpolated; saturated when the rate exceeds capacity. */
export function pointAtRate(curve: RateCurve, rate: number): OperatingPoint {
  const pts = curve.points;
  const last = pts[pts.length - 1]!;
  if (rate >= curve.maxRequestsPerSec) return { ...last, saturated: true, ttftSec: Infinity, queued: Infinity, limitedBy: 'rate' };
  let i = 0;
  while (i < pts.length - 1 && pts[i + 1]!.requestsPerSec < rate) i++;
  const a = pts[i]!;
  const b = pts[Math.min(i + 1, pts.length - 1)]!;
  const t = b.requestsPerSec > a.requestsPerSec ? Math.max(0, Math.min(1, (rate - a.requestsPerSec) / (b.requestsPerSec - a.requestsPerSec))) : 0;
  const scale = rate / lerp(a.requestsPerSec, b.requestsPerSec, t); // exact throughput at the asked rate
  return {
    ...a,
    running: lerp(a.running, b.running, t),
    decodeBatch: lerp(a.decodeBatch, b.decodeBatch, t),
    prefillTokensPerStep: lerp(a.prefillTokensPerStep, b.prefillTokensPerStep, t),
    stepSec: lerp(a.stepSec, b.stepSec, t),
    decodeStepSec: lerp(a.decodeStepSec, b.decodeStepSec, t),
    prefillStepSec: lerp(a.prefillStepSec, b.prefillStepSec, t),
    ttftSec: lerp(a.ttftSec, b.ttftSec, t),
    tpotSec: lerp(a.tpotSec, b.tpotSec, t),
    requestsPerSec: rate,
    outputTokS: lerp(a.outputTokS, b.outputTokS, t) * scale,
    inputTokS: lerp(a.inputTokS, b.inputTokS, t) * scale,
    prefillTimeFraction: lerp(a.prefillTimeFraction, b.prefillTimeFraction, t),
    flopsPerSecPerGpu: lerp(a.flopsPerSecPerGpu, b.flopsPerSecPerGpu, t),
    bytesPerSecPerGpu: lerp(a.bytesPerSecPerGpu, b.bytesPerSecPerGpu, t),
    limitedBy: 'rate',
    saturated: false,
  };
}

/** Highest rate (requests/s) on the curve whose point still meets the SLOs; 0 when none does. */
export function maxRateWithinSlo(curve: RateCurve, slo: Slo): number {
  let best = 0;
  for (const p of curve.points) {
    if (sloMiss(p, slo)) break;
    best = p.requestsPerSec;
  }
  return best;
}
