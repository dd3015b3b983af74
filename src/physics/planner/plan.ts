// The capacity plan of one deployment for one workload: memory, roofline, operating points,
// SLO-bounded maximum throughput and economics. Pure: the CLI formats what this returns.
import { resolveDeployment, type Deployment, type DeploymentRequest } from '../deployment.ts';
import { PhysicsInputError } from '../errors.ts';
import { resolveLimits, estimateAtConcurrency, estimateAtRate, estimateMaxThroughput, type EngineLimits, type EstimateOptions, type OperatingPoint } from '../serving-model.ts';
import { DEFAULT_ENERGY_PRICE, DEFAULT_PUE, economicsAt, type Economics, type Prices } from './economics.ts';
import { memoryPlan, type MemoryPlan } from './memory-plan.ts';
import { roofline, type Roofline } from './roofline.ts';

export interface Slo {
  ttftMs?: number;
  tpotMs?: number;
}

export interface PlanRequest extends DeploymentRequest {
  isl: number;
  osl: number;
  concurrency?: number;
  rate?: number;
  slo?: Slo;
  prices?: Partial<Prices>;
  /** Engine settings other than the profile's defaults (max_num_seqs, max_num_batched_tokens). */
  limits?: Partial<EngineLimits>;
}

export interface SloPoint {
  concurrency: number;
  point: OperatingPoint;
}

export interface Plan {
  deployment: Deployment;
  workload: { isl: number; osl: number; concurrency?: number; rate?: number };
  prices: Prices;
  memory: MemoryPlan;
  roofline: Roofline;
  /** At the requested concurrency or rate; at unlimited rate when neither is given. */
  operating: OperatingPoint;
  operatingEconomics: Economics;
  maxThroughput: OperatingPoint;
  maxThroughputEconomics: Economics;
  slo: Slo;
  /** Highest-throughput closed-loop point meeting the SLOs, or why none does. */
  withinSlo: SloPoint | { reason: string };
}

/** Why this point misses the SLOs, or null when it meets them. */
export function sloMiss(p: Pick<OperatingPoint, 'saturated' | 'ttftSec' | 'tpotSec'>, slo: Slo): string | null {
  if (p.saturated) return 'saturated';
  if (slo.ttftMs !== undefined && p.ttftSec * 1e3 > slo.ttftMs) return `TTFT ${(p.ttftSec * 1e3).toFixed(0)} ms > ${slo.ttftMs} ms`;
  if (slo.tpotMs !== undefined && p.tpotSec * 1e3 > slo.tpotMs) return `TPOT ${(p.tpotSec * 1e3).toFixed(1)} ms > ${slo.tpotMs} ms`;
  return null;
}

/** Largest concurrency whose operating point meets the SLOs (TTFT and TPOT grow with concurrency). */
export function maxWithinSlo(dep: Deployment, isl: number, osl: number, slo: Slo, maxRunning: number, opts?: EstimateOptions): SloPoint | { reason: string } {
  const at = (c: number) => estimateAtConcurrency(dep, { isl, osl, concurrency: c }, opts);
  const first = at(1);
  const miss = sloMiss(first, slo);
  if (miss) return { reason: `even one request at a time misses the SLO (${miss})` };
  let lo = 1;
  let hi = Math.max(1, Math.floor(maxRunning));
  if (!sloMiss(at(hi), slo)) return { concurrency: hi, point: at(hi) };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (sloMiss(at(mid), slo)) hi = mid;
    else lo = mid;
  }
  return { concurrency: lo, point: at(lo) };
}

export function resolvePrices(dep: Deployment, p: Partial<Prices> = {}): Prices {
  const prices = { gpuHourUsd: p.gpuHourUsd ?? dep.hardware.hourlyUsd, energyUsdPerKwh: p.energyUsdPerKwh ?? DEFAULT_ENERGY_PRICE, pue: p.pue ?? DEFAULT_PUE };
  if (!(prices.gpuHourUsd >= 0)) throw new PhysicsInputError(`GPU-hour price must be >= 0, got ${prices.gpuHourUsd}`);
  if (!(prices.energyUsdPerKwh >= 0)) throw new PhysicsInputError(`energy price must be >= 0, got ${prices.energyUsdPerKwh}`);
  if (!(prices.pue >= 1 && prices.pue < 5)) throw new PhysicsInputError(`PUE must be between 1 and 5, got ${prices.pue}`);
  return prices;
}

export function plan(req: PlanRequest): Plan {
  if (req.concurrency !== undefined && req.rate !== undefined) throw new PhysicsInputError('give either a concurrency or a rate, not both');
  const dep = resolveDeployment({ ...req, maxNumBatchedTokens: req.limits?.maxNumBatchedTokens });
  const prices = resolvePrices(dep, req.prices);
  const { isl, osl } = req;
  const w = { isl, osl };
  const opts: EstimateOptions = { limits: req.limits };
  const limits = resolveLimits(dep.engine, req.limits);
  const maxThroughput = estimateMaxThroughput(dep, w, opts);
  const operating = req.concurrency !== undefined
    ? estimateAtConcurrency(dep, { ...w, concurrency: req.concurrency }, opts)
    : req.rate !== undefined
      ? estimateAtRate(dep, { ...w, rate: req.rate }, opts)
      : maxThroughput;
  const slo = req.slo ?? {};
  return {
    deployment: dep,
    workload: { isl, osl, ...(req.concurrency !== undefined ? { concurrency: req.concurrency } : {}), ...(req.rate !== undefined ? { rate: req.rate } : {}) },
    prices,
    memory: memoryPlan(dep, isl, osl, limits.maxNumSeqs),
    roofline: roofline(dep, isl, osl, operating.decodeBatch, limits.maxNumBatchedTokens),
    operating,
    operatingEconomics: economicsAt(dep, operating, prices),
    maxThroughput,
    maxThroughputEconomics: economicsAt(dep, maxThroughput, prices),
    slo,
    withinSlo: maxWithinSlo(dep, isl, osl, slo, maxThroughput.maxRunning, opts),
  };
}

const round = (x: number, digits = 3): number | null => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** The `--json` object: the keys issue 5 names, plus the rest of the plan in snake_case. */
export function planToJson(p: Plan): Record<string, unknown> {
  const d = p.deployment;
  const op = p.operating;
  const e = p.operatingEconomics;
  const slo = 'point' in p.withinSlo ? p.withinSlo : null;
  return {
    model: d.model.id,
    gpu: d.hardware.id,
    tp: d.tp,
    dtype: d.weightDtype,
    kv_dtype: d.kvDtype,
    engine: d.engine,
    isl: p.workload.isl,
    osl: p.workload.osl,
    concurrency: p.workload.concurrency ?? null,
    rate_rps: p.workload.rate ?? null,
    // Operating point.
    ttft_ms: round(op.ttftSec * 1e3),
    tpot_ms: round(op.tpotSec * 1e3),
    throughput_tok_s: round(op.outputTokS, 1),
    input_throughput_tok_s: round(op.inputTokS, 1),
    requests_per_s: round(op.requestsPerSec),
    saturated: op.saturated,
    // Capacity.
    max_throughput_tok_s: round(p.maxThroughput.outputTokS, 1),
    max_throughput_within_slo_tok_s: slo ? round(slo.point.outputTokS, 1) : null,
    max_concurrency_within_slo: slo ? slo.concurrency : null,
    slo_note: slo ? null : (p.withinSlo as { reason: string }).reason,
    // Memory.
    weights_gib_per_gpu: round(p.memory.weightsGiBPerGpu),
    kv_capacity_tokens: p.memory.kvTokens,
    kv_blocks: p.memory.kvBlocks,
    max_concurrency: p.memory.maxConcurrency,
    // Roofline.
    ridge_flops_per_byte: round(p.roofline.ridgeFlopsPerByte, 1),
    prefill_flops_per_byte: round(p.roofline.prefill.flopsPerByte, 1),
    prefill_bound: p.roofline.prefill.bound,
    prefill_step_ms: round(p.roofline.prefill.stepMs),
    decode_flops_per_byte: round(p.roofline.decode.flopsPerByte, 2),
    decode_bound: p.roofline.decode.bound,
    decode_step_ms: round(p.roofline.decode.stepMs),
    // Economics.
    gpu_hour_usd: p.prices.gpuHourUsd,
    energy_usd_per_kwh: p.prices.energyUsdPerKwh,
    pue: p.prices.pue,
    usd_per_mtok_in: round(e.usdPerMtokInput, 4),
    usd_per_mtok_out: round(e.usdPerMtokOutput, 4),
    usd_per_mtok_out_at_max_throughput: round(p.maxThroughputEconomics.usdPerMtokOutput, 4),
    watts_per_gpu: round(e.wattsPerDevice, 1),
    joules_per_token: round(e.joulesPerOutputToken, 4),
    energy_usd_per_hour: round(e.energyUsdPerHour, 4),
    energy_share: round(e.energyShare, 4),
  };
}
