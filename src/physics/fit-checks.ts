// Checks of the step-time fit that go beyond its error on the rows it was fitted on:
//   - held-out errors: fit without a whole table (leave-one-table-out) or without one row
//     (leave-one-row-out), then score what was left out;
//   - feasibility: the FLOP/s a measured row demands of the GPU (Little's law on the measurement,
//     the model's FLOP count, no fitted efficiency), to tell rows no step-time model can match.
import type { CalibrationRow } from './calibration-data.ts';
import { resolveDeployment } from './deployment.ts';
import { evaluateCalibration, FIT_PARAMS, fitCoefficients, median, type Metric, type Param } from './fit.ts';
import { matmulFlops } from './hardware.ts';

/** The first letter of a calibration table's name ('A', 'B', 'D'). */
export const tableOf = (r: CalibrationRow): string => r.table.slice(0, 1);

export interface HeldOutScore {
  /** What was left out of the fit: a table letter, or 'one row of D'. */
  heldOut: string;
  metric: Metric;
  rows: number;
  medianAbsError: number;
}

function medians(errors: Array<Partial<Record<Metric, number>>>, heldOut: string): HeldOutScore[] {
  const byMetric = new Map<Metric, number[]>();
  for (const e of errors) for (const [m, v] of Object.entries(e) as Array<[Metric, number]>) byMetric.set(m, [...(byMetric.get(m) ?? []), Math.abs(v)]);
  return [...byMetric.entries()].map(([metric, errs]) => ({ heldOut, metric, rows: errs.length, medianAbsError: median(errs) }));
}

/** For each table: fit on the other tables, score the left-out one. */
export function leaveOneTableOut(rows: readonly CalibrationRow[], opts: { params?: readonly Param[]; iterations?: number } = {}): HeldOutScore[] {
  const tables = [...new Set(rows.map(tableOf))];
  return tables.flatMap((t) => {
    const fit = fitCoefficients({ rows: rows.filter((r) => tableOf(r) !== t), params: opts.params ?? FIT_PARAMS, iterations: opts.iterations });
    return medians(evaluateCalibration(fit.coefficients, rows.filter((r) => tableOf(r) === t)).map((r) => r.errors), t);
  });
}

/** For each row of `table`: fit on every other row (all tables), score that row. Also returns each row's errors. */
export function leaveOneRowOut(
  rows: readonly CalibrationRow[],
  table: string,
  opts: { params?: readonly Param[]; iterations?: number } = {},
): { scores: HeldOutScore[]; perRow: Array<{ row: CalibrationRow; errors: Partial<Record<Metric, number>> }> } {
  const perRow = rows.filter((r) => tableOf(r) === table).map((held) => {
    const fit = fitCoefficients({ rows: rows.filter((r) => r !== held), params: opts.params ?? FIT_PARAMS, iterations: opts.iterations });
    return { row: held, errors: evaluateCalibration(fit.coefficients, [held])[0]!.errors };
  });
  return { scores: medians(perRow.map((p) => p.errors), `one row of ${table}`), perRow };
}

/**
 * Fraction of the GPUs' dense peak FLOP/s (of the weight format) that a measured row demands:
 * requests per second (output throughput / OSL, or Little's law concurrency / (TTFT + (OSL - 1) x
 * TPOT)) times the FLOPs of one request (its prompt's prefill plus OSL - 1 decode steps at the mean
 * context). FLOPs are counted by the step-time model; no efficiency enters. Above about 0.75 no
 * engine can deliver it (FP8 GEMMs do not sustain more), so the row is not the closed loop it says.
 */
export function impliedComputeUtilisation(row: CalibrationRow): number {
  const dep = resolveDeployment({ model: row.model, gpu: row.gpu, tp: row.tp, dtype: row.dtype, kvDtype: row.kvDtype, engine: row.engine });
  const m = row.measured;
  let requestsPerSec: number;
  if (m.throughputTokS !== undefined) requestsPerSec = m.throughputTokS / row.osl;
  else if (m.ttftMs !== undefined && m.tpotMs !== undefined && Number.isFinite(row.concurrency)) {
    requestsPerSec = row.concurrency / ((m.ttftMs + (row.osl - 1) * m.tpotMs) / 1e3);
  } else return NaN;
  const st = dep.stepTime;
  const prefill = st.breakdownWeighted({ prefill: [{ tokens: row.isl, cachedContext: 0 }], decode: [] }).flops;
  const decode = st.breakdownWeighted({ prefill: [], decode: [{ contextLength: row.isl + row.osl / 2 }] }).flops;
  const flopsPerRequest = prefill + (row.osl - 1) * decode; // per GPU
  return (requestsPerSec * flopsPerRequest) / matmulFlops(dep.hardware, dep.weightDtype);
}

/**
 * Richer parameterisations tried against table D (docs/physics.md, "Held-out errors"): each adds
 * a few coefficients to the shipped FIT_PARAMS. Their held-out errors decide whether any is worth
 * shipping.
 */
const VLLM_OVERHEADS: Param[] = [
  { engine: 'vllm', key: 'stepOverheadSec', prior: 126e-6, min: 10e-6, max: 10e-3 },
  { engine: 'vllm', key: 'layerOverheadSec', prior: 32e-6, min: 1e-6, max: 200e-6 },
  { engine: 'vllm', key: 'requestOverheadSec', prior: 4.4e-6, min: 0.1e-6, max: 100e-6 },
];
const GEMM_RAMP: Param = { engine: 'both', key: 'gemmHalfTokens', prior: 64, min: 1, max: 8192 };
const VLLM_COMPUTE: Param = { engine: 'vllm', key: 'computeEfficiency', prior: 0.45, min: 0.15, max: 0.95 };

export const FIT_VARIANTS: ReadonlyArray<{ name: string; params: readonly Param[] }> = [
  { name: 'shipped: 3 efficiencies + all-reduce shared, TRT-LLM overheads (7)', params: FIT_PARAMS },
  { name: '+ vLLM overheads fitted (10)', params: [...FIT_PARAMS, ...VLLM_OVERHEADS] },
  { name: '+ vLLM overheads + GEMM efficiency ramp t/(t + t_half) (11)', params: [...FIT_PARAMS, ...VLLM_OVERHEADS, GEMM_RAMP] },
  { name: '+ vLLM overheads + a vLLM compute efficiency of its own (11)', params: [...FIT_PARAMS, ...VLLM_OVERHEADS, VLLM_COMPUTE] },
];
