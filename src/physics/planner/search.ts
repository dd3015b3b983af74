// `plan --search`: enumerate accelerator x device count x TP x weight format x aggregated or
// disaggregated (P:D), serve the workload's rate on each, and rank those that meet the SLOs by
// cost per million tokens. Every loser gets the reason it loses. Each (accelerator, TP, format)
// deployment is solved once into a rate curve; all counts and P:D splits reuse it.
import { resolveDeployment, type Deployment } from '../deployment.ts';
import { PhysicsInputError } from '../errors.ts';
import { getHardware, listHardware, type Hardware } from '../hardware.ts';
import { getModel, type ModelSpec } from '../models.ts';
import type { EngineKind } from '../step-time.ts';
import type { Dtype } from '../types.ts';
import { disaggregatedAtRate } from './disaggregated.ts';
import { DEFAULT_ENERGY_PRICE, DEFAULT_PUE, economicsAt, type Prices } from './economics.ts';
import { sloMiss, type Slo } from './plan.ts';
import { maxRateWithinSlo, pointAtRate, rateCurve, type RateCurve } from './rate-curve.ts';

export interface SearchRequest {
  model: string | ModelSpec;
  isl: number;
  osl: number;
  /** Arrival rate of the whole workload, requests/s. */
  rate: number;
  slo: Slo;
  gpus?: string[];
  dtypes?: Dtype[];
  /** Largest device count for HBM parts (SRAM parts may use up to `maxSramChips`). */
  maxGpus?: number;
  maxSramChips?: number;
  engine?: EngineKind;
  energyUsdPerKwh?: number;
  pue?: number;
  /** Override every accelerator's assumed hourly price (only sensible with one accelerator). */
  gpuHourUsd?: number;
}

export interface SearchOption {
  gpu: string;
  count: number;
  tp: number;
  dtype: Dtype;
  mode: 'aggregated' | 'disaggregated';
  /** Prefill:decode replicas (disaggregated only). */
  pd?: [number, number];
}

export interface OptionResult {
  option: SearchOption;
  label: string;
  ok: boolean;
  reason: string;
  ttftMs: number;
  tpotMs: number;
  usdPerHour: number;
  /** Cost of the deployment per million tokens served (input + output). */
  usdPerMtok: number;
  usdPerMtokOut: number;
  joulesPerOutputToken: number;
  /** Share of the option's SLO-respecting capacity that the workload uses. */
  load: number;
  /** The highest total rate this option serves within the SLOs (req/s). */
  maxRateWithinSlo: number;
}

export interface SearchResult {
  request: SearchRequest;
  evaluated: number;
  ranked: OptionResult[]; // winners first (ok), then losers
  best: OptionResult | null;
}

const pow2 = (max: number): number[] => {
  const out: number[] = [];
  for (let n = 1; n <= max; n *= 2) out.push(n);
  return out;
};

const PD_RATIOS: Array<[number, number]> = [[1, 1], [1, 2], [1, 3], [2, 1], [3, 1], [2, 3], [3, 2]];

export function label(o: SearchOption): string {
  const base = `${o.count}x ${o.gpu} TP${o.tp} ${o.dtype}`;
  return o.mode === 'aggregated' ? `${base} agg` : `${base} P:D ${o.pd![0]}:${o.pd![1]}`;
}

function defaultDtypes(hw: Hardware): Dtype[] {
  return ['bf16', 'fp8', hw.flops.fp4 ? 'fp4' : 'int4'];
}

/** Every option the search considers for one accelerator. */
export function enumerateOptions(hw: Hardware, req: SearchRequest): SearchOption[] {
  const maxCount = hw.memoryKind === 'sram' ? (req.maxSramChips ?? 1024) : (req.maxGpus ?? 64);
  const out: SearchOption[] = [];
  for (const dtype of req.dtypes ?? defaultDtypes(hw)) {
    for (const count of pow2(maxCount)) {
      for (const tp of pow2(Math.min(count, hw.maxScaleUp))) {
        const replicas = count / tp;
        out.push({ gpu: hw.id, count, tp, dtype, mode: 'aggregated' });
        for (const [a, b] of PD_RATIOS) {
          if ((replicas * a) % (a + b) !== 0) continue;
          const p = (replicas * a) / (a + b);
          const d = replicas - p;
          if (p >= 1 && d >= 1) out.push({ gpu: hw.id, count, tp, dtype, mode: 'disaggregated', pd: [p, d] });
        }
      }
    }
  }
  return out;
}

interface Solved {
  dep?: Deployment;
  error?: string;
  curve?: RateCurve;
  sloRate?: number;
}

function lose(option: SearchOption, reason: string): OptionResult {
  return { option, label: label(option), ok: false, reason, ttftMs: NaN, tpotMs: NaN, usdPerHour: NaN, usdPerMtok: Infinity, usdPerMtokOut: Infinity, joulesPerOutputToken: NaN, load: NaN, maxRateWithinSlo: 0 };
}

function evaluate(option: SearchOption, solved: Solved, req: SearchRequest, prices: Prices): OptionResult {
  if (!solved.dep) return lose(option, solved.error!);
  const dep = solved.dep;
  const w = { isl: req.isl, osl: req.osl };
  const tokensPerHour = req.rate * (req.isl + req.osl) * 3600;
  const outPerHour = req.rate * req.osl * 3600;
  const base = { option, label: label(option) };
  if (option.mode === 'aggregated') {
    const replicas = option.count / option.tp;
    const op = pointAtRate(solved.curve!, req.rate / replicas);
    const maxRate = replicas * solved.sloRate!;
    const e = economicsAt(dep, op, prices, replicas);
    const usdPerHour = e.gpuUsdPerHour + e.energyUsdPerHour;
    const miss = sloMiss(op, req.slo);
    const reason = op.saturated
      ? `saturated: ${replicas} replica(s) serve at most ${(replicas * solved.curve!.maxRequestsPerSec).toFixed(2)} req/s`
      : miss ? `misses the SLO: ${miss}` : '';
    return { ...base, ok: !reason && Number.isFinite(usdPerHour), reason, ttftMs: op.ttftSec * 1e3, tpotMs: op.tpotSec * 1e3, usdPerHour,
      usdPerMtok: (usdPerHour / tokensPerHour) * 1e6, usdPerMtokOut: (usdPerHour / outPerHour) * 1e6,
      joulesPerOutputToken: e.joulesPerOutputToken, load: maxRate > 0 ? req.rate / maxRate : Infinity, maxRateWithinSlo: maxRate };
  }
  const [p, d] = option.pd!;
  const r = disaggregatedAtRate(dep, w, req.rate, p, d, prices);
  const miss = r.saturated ? null : sloMiss({ saturated: false, ttftSec: r.ttftSec, tpotSec: r.tpotSec }, req.slo);
  const reason = r.saturated
    ? `saturated: the ${r.saturated} pool serves at most ${r.maxRequestsPerSec.toFixed(2)} req/s`
    : miss ? `misses the SLO: ${miss}` : '';
  return { ...base, ok: !reason, reason, ttftMs: r.ttftSec * 1e3, tpotMs: r.tpotSec * 1e3, usdPerHour: r.usdPerHour,
    usdPerMtok: (r.usdPerHour / tokensPerHour) * 1e6, usdPerMtokOut: (r.usdPerHour / outPerHour) * 1e6,
    joulesPerOutputToken: r.joulesPerOutputToken, load: req.rate / r.maxRequestsPerSec, maxRateWithinSlo: r.maxRequestsPerSec };
}

/** Why a working option loses to the winner, in one phrase. */
function whyMoreExpensive(r: OptionResult, best: OptionResult): string {
  const ratio = r.usdPerMtok / best.usdPerMtok;
  const o = r.option;
  const b = best.option;
  let why: string;
  if (ratio < 1.02) why = 'a tie within 2 %';
  else if (o.gpu === b.gpu && o.dtype === b.dtype && o.count > b.count) why = `over-provisioned: ${o.count} devices where ${b.count} meet the SLO`;
  else if (r.load < 0.35) why = `over-provisioned: the workload uses ${(r.load * 100).toFixed(0)}% of its capacity`;
  else if (o.mode !== b.mode && o.gpu === b.gpu) why = o.mode === 'disaggregated' ? 'splitting prefill and decode costs more devices than it saves at this load' : 'aggregated serving needs more devices to meet the SLO here';
  else why = `less throughput per dollar ($${r.usdPerHour.toFixed(2)}/h for the same rate)`;
  return `${ratio.toFixed(2)}x the cost of the best: ${why}`;
}

function pricesFor(hw: Hardware, req: SearchRequest): Prices {
  return { gpuHourUsd: req.gpuHourUsd ?? hw.hourlyUsd, energyUsdPerKwh: req.energyUsdPerKwh ?? DEFAULT_ENERGY_PRICE, pue: req.pue ?? DEFAULT_PUE };
}

/** Resolve and tabulate one (accelerator, TP, format) deployment, or say why it cannot serve. */
function solve(model: ModelSpec, hw: Hardware, option: SearchOption, req: SearchRequest): Solved {
  try {
    const dep = resolveDeployment({ model, gpu: hw, tp: option.tp, dtype: option.dtype, engine: req.engine });
    const curve = rateCurve(dep, { isl: req.isl, osl: req.osl });
    return { dep, curve, sloRate: maxRateWithinSlo(curve, req.slo) };
  } catch (err) {
    if (!(err instanceof PhysicsInputError)) throw err;
    // Keep the reason short: drop the model name prefix and the 'would fit' suggestions.
    return { error: (err.message.split(';')[0] ?? err.message).replace(/^.*?(does not fit|tp \d+)/, '$1') };
  }
}

/** $/Mtok of one option across arrival rates (null where it is saturated or misses the SLOs): the report's curves. */
export function costVsRate(req: SearchRequest, option: SearchOption, rates: number[]): Array<[number, number | null]> {
  const model = typeof req.model === 'string' ? getModel(req.model) : req.model;
  const hw = getHardware(option.gpu);
  const solved = solve(model, hw, option, req);
  return rates.map((rate) => {
    const r = evaluate(option, solved, { ...req, rate }, pricesFor(hw, req));
    return [rate, r.ok ? r.usdPerMtok : null];
  });
}

export function search(req: SearchRequest): SearchResult {
  if (!(req.rate > 0 && Number.isFinite(req.rate))) throw new PhysicsInputError(`the search needs a positive request rate, got ${req.rate}`);
  const model = typeof req.model === 'string' ? getModel(req.model) : req.model;
  if (req.isl + req.osl > model.contextLength) {
    throw new PhysicsInputError(`isl + osl = ${req.isl + req.osl} tokens exceeds ${model.id}'s context of ${model.contextLength} tokens`);
  }
  const hardware = req.gpus?.length ? req.gpus.map(getHardware) : listHardware();
  const solved = new Map<string, Solved>();
  const results: OptionResult[] = [];
  for (const hw of hardware) {
    const prices = pricesFor(hw, req);
    for (const option of enumerateOptions(hw, req)) {
      const key = `${hw.id}|${option.tp}|${option.dtype}`;
      let s = solved.get(key);
      if (!s) {
        s = solve(model, hw, option, req);
        solved.set(key, s);
      }
      results.push(evaluate(option, s, req, prices));
    }
  }
  const winners = results.filter((r) => r.ok).sort((a, b) => a.usdPerMtok - b.usdPerMtok);
  const best = winners[0] ?? null;
  if (best) {
    best.reason = 'cheapest option that meets the SLOs';
    for (const r of winners.slice(1)) r.reason = whyMoreExpensive(r, best);
  }
  const losers = results.filter((r) => !r.ok).sort((a, b) => b.maxRateWithinSlo - a.maxRateWithinSlo);
  return { request: req, evaluated: results.length, ranked: [...winners, ...losers], best };
}

/** The report's curves: the cheapest working option of each accelerator (up to `max`), over 0-2x the workload's rate. */
export function reportCurves(s: SearchResult, max = 8, samples = 24): Array<{ label: string; points: Array<[number, number | null]> }> {
  const picked: OptionResult[] = [];
  const seen = new Set<string>();
  for (const r of s.ranked) {
    if (!r.ok || seen.has(r.option.gpu)) continue;
    seen.add(r.option.gpu);
    picked.push(r);
    if (picked.length >= max) break;
  }
  const rates = Array.from({ length: samples }, (_, i) => (2 * s.request.rate * (i + 1)) / samples);
  return picked.map((r) => ({ label: r.label, points: costVsRate(s.request, r.option, rates) }));
}
