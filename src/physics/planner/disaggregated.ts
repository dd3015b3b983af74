// Prefill/decode disaggregation: `p` replicas only prefill, `d` replicas only decode, the KV moves
// between them. Prefill replicas batch prompts up to the token budget (an M/D/1 queue on prompt
// tokens); decode replicas run decode-only steps whose batch follows Little's law
// (n = rate x (OSL - 1) x step(n)); TTFT = prefill + KV transfer + the first decode step.
import type { Deployment } from '../deployment.ts';
import { kvBytesPerToken } from '../models.ts';
import { ENGINE_LIMITS, maxRunning, prefillChunks } from '../serving-model.ts';
import type { WeightedBatch } from '../step-time.ts';
import { devicePower } from './power.ts';
import type { Prices } from './economics.ts';

export interface DisaggResult {
  saturated: 'prefill' | 'decode' | null;
  ttftSec: number;
  tpotSec: number;
  transferSec: number;
  prefillUtilisation: number;
  decodeBatch: number;
  outputTokS: number;
  usdPerHour: number;
  energyUsdPerHour: number;
  joulesPerOutputToken: number;
  /** Highest total rate (req/s) the pools sustain: min of the prefill and decode pools' capacity. */
  maxRequestsPerSec: number;
}

/** Per-GPU bandwidth between the pools: NVLink-class inside one scale-up domain, else 50 GB/s NICs (CX7 400G). */
function transferBandwidth(dep: Deployment, totalDevices: number): number {
  return totalDevices <= dep.hardware.maxScaleUp ? dep.hardware.scaleUpBandwidthBytesPerSec : 50e9;
}

export function disaggregatedAtRate(
  dep: Deployment, w: { isl: number; osl: number }, rate: number, p: number, d: number, prices: Prices,
): DisaggResult {
  const st = dep.stepTime;
  const budget = ENGINE_LIMITS[dep.engine].maxNumBatchedTokens;
  const decodeSteps = Math.max(w.osl - 1, 1);
  // Prefill pool: capacity in prompt tokens per second when steps are full.
  const chunk = Math.min(w.isl, budget);
  const full: WeightedBatch = { prefill: prefillChunks(budget, w.isl), decode: [] };
  const fullCost = st.breakdownWeighted(full);
  const tokenCapacity = budget / fullCost.totalSec;
  const single = Math.ceil(w.isl / budget) * st.breakdownWeighted({ prefill: [{ tokens: chunk, cachedContext: 0, count: 1 }], decode: [] }).totalSec;
  const ratePerPrefill = rate / p;
  const rho = (ratePerPrefill * w.isl) / tokenCapacity;
  const prefillMax = (p * tokenCapacity) / w.isl;

  // Decode pool: solve n = rate_d x (OSL - 1) x step(n) for the decode batch.
  const ctx = w.isl + w.osl / 2;
  const stepAt = (n: number) => st.breakdownWeighted({ prefill: [], decode: [{ contextLength: ctx, count: n }] });
  const ratePerDecode = rate / d;
  const nMax = maxRunning(dep, w.isl, w.osl).n;
  const decodeMaxPerReplica = nMax / (decodeSteps * stepAt(nMax).totalSec);
  const decodeMax = d * decodeMaxPerReplica;
  let lo = 0;
  let hi = nMax;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (ratePerDecode * decodeSteps * stepAt(Math.max(mid, 1e-9)).totalSec > mid) lo = mid;
    else hi = mid;
  }
  const n = Math.max(hi, 1e-9);
  const decodeCost = stepAt(n);

  const kvBytes = w.isl * kvBytesPerToken(dep.model, dep.kvDtype);
  const transferSec = kvBytes / (dep.tp * transferBandwidth(dep, (p + d) * dep.tp));
  const saturated = rho >= 1 ? 'prefill' : ratePerDecode >= decodeMaxPerReplica ? 'decode' : null;
  const wait = rho < 1 ? (rho / (2 * (1 - rho))) * (w.isl / tokenCapacity) : Infinity;

  // Power per pool from its utilisation.
  const prefillPower = devicePower(dep.hardware, dep.weightDtype, Math.min(rho, 1) * fullCost.flops / fullCost.totalSec, Math.min(rho, 1) * fullCost.bytes / fullCost.totalSec);
  const decodePower = devicePower(dep.hardware, dep.weightDtype, decodeCost.flops / decodeCost.totalSec, decodeCost.bytes / decodeCost.totalSec);
  const watts = dep.tp * (p * prefillPower.watts + d * decodePower.watts);
  const energyUsdPerHour = ((watts * prices.pue) / 1000) * prices.energyUsdPerKwh;
  const usdPerHour = (p + d) * dep.tp * prices.gpuHourUsd + energyUsdPerHour;
  const outputTokS = saturated ? Math.min(prefillMax, decodeMax) * w.osl : rate * w.osl;
  return {
    saturated,
    ttftSec: saturated ? Infinity : single + wait + transferSec + decodeCost.totalSec,
    tpotSec: decodeCost.totalSec,
    transferSec,
    prefillUtilisation: rho,
    decodeBatch: n,
    outputTokS,
    usdPerHour,
    energyUsdPerHour,
    joulesPerOutputToken: watts / outputTokS,
    maxRequestsPerSec: Math.min(prefillMax, decodeMax),
  };
}
