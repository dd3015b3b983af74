// Fitting the step-time coefficients on the calibration rows, and measuring the error there.
// Objective: mean squared log error over every measured metric of every row (each table weighted
// equally), plus a weak log-prior pulling each coefficient toward a physically plausible value (the
// BLIS H100 constants), so the few parameters stay physics rather than row-memorisation.
import { CALIBRATION, type CalibrationRow } from './calibration-data.ts';
import { resolveDeployment, type Deployment } from './deployment.ts';
import { estimateAtConcurrency } from './serving-model.ts';
import { createStepTimeModel, FITTED, type EngineKind, type StepTimeCoefficients } from './step-time.ts';

export type Metric = 'throughputTokS' | 'ttftMs' | 'tpotMs';

export interface RowResult {
  row: CalibrationRow;
  predicted: { throughputTokS: number; ttftMs: number; tpotMs: number };
  /** Signed relative error (predicted / measured - 1) per measured metric. */
  errors: Partial<Record<Metric, number>>;
}

export type Coefficients = Record<EngineKind, StepTimeCoefficients>;

function deploymentFor(row: CalibrationRow, coefficients: Coefficients): Deployment {
  const dep = resolveDeployment({ model: row.model, gpu: row.gpu, tp: row.tp, dtype: row.dtype, kvDtype: row.kvDtype, engine: row.engine });
  const stepTime = createStepTimeModel({ ...dep, coefficients: coefficients[row.engine] });
  return { ...dep, stepTime };
}

export function evaluateRow(row: CalibrationRow, coefficients: Coefficients = FITTED): RowResult {
  const dep = deploymentFor(row, coefficients);
  const op = estimateAtConcurrency(dep, { isl: row.isl, osl: row.osl, concurrency: row.concurrency });
  const predicted = { throughputTokS: op.outputTokS, ttftMs: op.ttftSec * 1e3, tpotMs: op.tpotSec * 1e3 };
  const errors: Partial<Record<Metric, number>> = {};
  for (const m of ['throughputTokS', 'ttftMs', 'tpotMs'] as Metric[]) {
    const measured = row.measured[m];
    if (measured !== undefined) errors[m] = predicted[m] / measured - 1;
  }
  return { row, predicted, errors };
}

export function evaluateCalibration(coefficients: Coefficients = FITTED, rows: readonly CalibrationRow[] = CALIBRATION): RowResult[] {
  return rows.map((r) => evaluateRow(r, coefficients));
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median |error| per table and metric. */
export function summarise(results: RowResult[]): Array<{ table: string; metric: Metric; n: number; medianAbsError: number }> {
  const groups = new Map<string, number[]>();
  for (const r of results) {
    for (const [m, e] of Object.entries(r.errors)) {
      const key = `${r.row.table}|${m}`;
      groups.set(key, [...(groups.get(key) ?? []), Math.abs(e)]);
    }
  }
  return [...groups.entries()].map(([key, errs]) => {
    const [table, metric] = key.split('|') as [string, Metric];
    return { table, metric, n: errs.length, medianAbsError: median(errs) };
  });
}

// ---------- the fit ----------

/** What the optimiser moves, in log space, with the prior (BLIS-like physical values) each is pulled toward. */
export interface Param {
  engine: EngineKind | 'both';
  key: keyof StepTimeCoefficients & string;
  prior: number;
  min: number;
  max: number;
}

export const FIT_PARAMS: Param[] = [
  { engine: 'both', key: 'computeEfficiency', prior: 0.45, min: 0.15, max: 0.9 },
  { engine: 'both', key: 'attentionEfficiency', prior: 0.4, min: 0.1, max: 0.9 },
  { engine: 'both', key: 'bandwidthEfficiency', prior: 0.8, min: 0.4, max: 0.95 },
  { engine: 'trtllm', key: 'stepOverheadSec', prior: 126e-6, min: 10e-6, max: 10e-3 },
  { engine: 'trtllm', key: 'layerOverheadSec', prior: 32e-6, min: 1e-6, max: 200e-6 },
  { engine: 'trtllm', key: 'requestOverheadSec', prior: 4.4e-6, min: 0.1e-6, max: 100e-6 },
  // NCCL/custom all-reduce of a small message over NVLink: launch + sync, typically 10-30 us.
  { engine: 'both', key: 'allReduceLatencySec', prior: 15e-6, min: 2e-6, max: 60e-6 },
];

const PRIOR_WEIGHT = 0.01; // per parameter, on (log(value / prior))^2: weak, breaks ties toward physics

function apply(base: Coefficients, x: number[], params: readonly Param[]): Coefficients {
  const out: Coefficients = { vllm: { ...base.vllm }, trtllm: { ...base.trtllm } };
  params.forEach((p, i) => {
    const v = Math.min(p.max, Math.max(p.min, Math.exp(x[i]!)));
    if (p.engine === 'both' || p.engine === 'vllm') out.vllm[p.key] = v;
    if (p.engine === 'both' || p.engine === 'trtllm') out.trtllm[p.key] = v;
  });
  return out;
}

export function objective(coefficients: Coefficients, rows: readonly CalibrationRow[]): number {
  const perTable = new Map<string, number[]>();
  for (const r of evaluateCalibration(coefficients, rows)) {
    for (const e of Object.values(r.errors)) {
      const l = Math.log1p(e);
      perTable.set(r.row.table, [...(perTable.get(r.row.table) ?? []), l * l]);
    }
  }
  let total = 0;
  for (const v of perTable.values()) total += v.reduce((a, b) => a + b, 0) / v.length;
  return total / perTable.size;
}

/** The rows the fit uses: the self-consistent TensorRT-LLM tables (A and B). */
export const FIT_ROWS: readonly CalibrationRow[] = CALIBRATION.filter((r) => r.engine === 'trtllm');

/** Nelder-Mead in log space from the priors, restarted from its best point (simplex methods stall). Deterministic. */
export function fitCoefficients(opts: { iterations?: number; start?: Coefficients; rows?: readonly CalibrationRow[]; restarts?: number; params?: readonly Param[] } = {}): { coefficients: Coefficients; loss: number } {
  const base = opts.start ?? FITTED;
  const rows = opts.rows ?? FIT_ROWS;
  const params = opts.params ?? FIT_PARAMS;
  const f = (x: number[]): number => {
    let prior = 0;
    params.forEach((p, i) => {
      const v = Math.min(p.max, Math.max(p.min, Math.exp(x[i]!)));
      prior += Math.log(v / p.prior) ** 2;
    });
    return objective(apply(base, x, params), rows) + PRIOR_WEIGHT * prior;
  };
  let best = { x: params.map((p) => Math.log(p.prior)), value: Infinity };
  for (let round = 0; round <= (opts.restarts ?? 2); round++) best = nelderMead(f, best.x, opts.iterations ?? 400);
  return { coefficients: apply(base, best.x, params), loss: best.value };
}

function nelderMead(f: (x: number[]) => number, x0: number[], iterations: number): { x: number[]; value: number } {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + 0.5 : v)))];
  let values = simplex.map(f);
  for (let it = 0; it < iterations; it++) {
    const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p[j]!, 0) / n);
    const worst = simplex[n]!;
    const along = (t: number): number[] => centroid.map((c, j) => c + t * (worst[j]! - c));
    const xr = along(-1);
    const fr = f(xr);
    if (fr < values[0]!) {
      const xe = along(-2);
      const fe = f(xe);
      [simplex[n], values[n]] = fe < fr ? [xe, fe] : [xr, fr];
    } else if (fr < values[n - 1]!) {
      [simplex[n], values[n]] = [xr, fr];
    } else {
      const xc = along(0.5);
      const fc = f(xc);
      if (fc < values[n]!) {
        [simplex[n], values[n]] = [xc, fc];
      } else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = simplex[i]!.map((v, j) => simplex[0]![j]! + 0.5 * (v - simplex[0]![j]!));
          values[i] = f(simplex[i]!);
        }
      }
    }
  }
  const i = values.indexOf(Math.min(...values));
  return { x: simplex[i]!, value: values[i]! };
}
