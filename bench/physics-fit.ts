// Recomputes the step-time fit on reference/calibration.md and prints the tables that
// docs/physics.md quotes:  node bench/physics-fit.ts [--iterations N] [--held-out-iterations N] [--only fit|held-out|feasibility]
import { CALIBRATION, type CalibrationRow } from '../src/physics/calibration-data.ts';
import { evaluateCalibration, fitCoefficients, FIT_ROWS, median, summarise, type RowResult } from '../src/physics/fit.ts';
import { FIT_VARIANTS, impliedComputeUtilisation, leaveOneRowOut, leaveOneTableOut, tableOf, type HeldOutScore } from '../src/physics/fit-checks.ts';
import { resolveDeployment } from '../src/physics/deployment.ts';
import { runSingleSim } from '../src/sim/single.ts';
import { FITTED, type StepTimeCoefficients } from '../src/physics/step-time.ts';
import { badFlag, benchArgs } from './args.ts';

const { values } = benchArgs({ iterations: { type: 'string', default: '600' }, 'held-out-iterations': { type: 'string', default: '300' }, only: { type: 'string' } });
const iterations = Number(values.iterations);
const heldOutIterations = Number(values['held-out-iterations']);
const only = values.only;
if (only !== undefined && !['fit', 'held-out', 'feasibility'].includes(only)) badFlag(`--only must be fit, held-out or feasibility, got '${only}'`);

const pct = (x: number | undefined): string => (x === undefined ? '' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function describe(c: StepTimeCoefficients): string {
  return `compute ${c.computeEfficiency.toFixed(3)}, attention ${c.attentionEfficiency.toFixed(3)}, bandwidth ${c.bandwidthEfficiency.toFixed(3)}, ` +
    `step ${(c.stepOverheadSec * 1e6).toFixed(1)} us, layer ${(c.layerOverheadSec * 1e6).toFixed(1)} us, request ${(c.requestOverheadSec * 1e6).toFixed(2)} us, ` +
    `all-reduce ${(c.allReduceLatencySec * 1e6).toFixed(1)} us${c.gemmHalfTokens ? `, GEMM t_half ${c.gemmHalfTokens.toFixed(0)} tokens` : ''}`;
}

function printCoefficients(label: string, c: StepTimeCoefficients): void {
  console.log(`${label}: ${describe(c)}`);
}

function printSummary(results: RowResult[]): void {
  console.log('| table | metric | rows | median abs error |\n|---|---|---|---|');
  for (const s of summarise(results)) console.log(`| ${s.table} | ${s.metric} | ${s.n} | ${(s.medianAbsError * 100).toFixed(1)}% |`);
}

function fitSection(): void {
  const t0 = performance.now();
  const fit = fitCoefficients({ iterations });
  console.log(`## Fit (Nelder-Mead, ${iterations} iterations x 3 starts, ${FIT_ROWS.length} TRT-LLM/NIM rows, ${((performance.now() - t0) / 1e3).toFixed(1)} s)\n`);
  printCoefficients('refitted', fit.coefficients.trtllm);
  printCoefficients('shipped (step-time.ts FITTED.trtllm)', FITTED.trtllm);
  printCoefficients('shipped (step-time.ts FITTED.vllm)', FITTED.vllm);

  console.log('\n## Error of the shipped coefficients on the calibration set\n');
  const results = evaluateCalibration(FITTED);
  printSummary(results);

  console.log('\n## Predicted vs measured, per row\n');
  console.log('| table | model | GPU x TP | ISL/OSL | conc. | tok/s meas | tok/s pred | err | TTFT ms meas | pred | err | TPOT ms meas | pred | err |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.row.measured;
    console.log(`| ${r.row.table.slice(0, 1)} | ${r.row.model} | ${r.row.gpu} x ${r.row.tp} | ${r.row.isl}/${r.row.osl} | ${Number.isFinite(r.row.concurrency) ? r.row.concurrency : 'max'} | ` +
      `${m.throughputTokS ?? ''} | ${fmt(r.predicted.throughputTokS)} | ${pct(r.errors.throughputTokS)} | ` +
      `${m.ttftMs ?? ''} | ${fmt(r.predicted.ttftMs)} | ${pct(r.errors.ttftMs)} | ${m.tpotMs ?? ''} | ${fmt(r.predicted.tpotMs)} | ${pct(r.errors.tpotMs)} |`);
  }

  // Hold-out checks inside the calibration set: fit on one part, score the rest.
  console.log('\n## Cross-checks: fit on one part of the set, score another\n');
  const splits: Array<[string, (r: CalibrationRow) => boolean, (r: CalibrationRow) => boolean]> = [
    ['table A (max throughput)', (r) => r.table.startsWith('A'), (r) => r.table.startsWith('B')],
    ['table B (NIM sweep)', (r) => r.table.startsWith('B'), (r) => r.table.startsWith('A')],
    ['the 8B rows only (1 GPU)', (r) => r.engine === 'trtllm' && r.model === 'llama-3.1-8b', (r) => r.engine === 'trtllm' && r.model !== 'llama-3.1-8b'],
  ];
  for (const [name, trainOn, scoreOn] of splits) {
    const f = fitCoefficients({ iterations, rows: CALIBRATION.filter(trainOn) });
    console.log(`fit on ${name}, scored on the rows it did not see:`);
    printSummary(evaluateCalibration(f.coefficients, CALIBRATION.filter(scoreOn)));
    console.log('');
  }
}

const pct1 = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Held-out errors: each parameterisation fitted without a table, or without one row of D, scoring what it did not see. */
function heldOutSection(): void {
  console.log(`## Held-out errors (Nelder-Mead ${heldOutIterations} iterations x 3 starts per fit)\n`);
  console.log('| parameterisation (coefficients) | held out | tok/s | TTFT | TPOT |\n|---|---|---|---|---|');
  const cell = (scores: HeldOutScore[], held: string, m: string) => {
    const s = scores.find((x) => x.heldOut === held && x.metric === m);
    return s ? `${pct1(s.medianAbsError)} (${s.rows})` : '';
  };
  const perRowLines: string[] = [];
  const allInLines: string[] = [];
  for (const v of FIT_VARIANTS) {
    const t0 = performance.now();
    const allIn = fitCoefficients({ rows: CALIBRATION, params: v.params, iterations: heldOutIterations }).coefficients;
    allInLines.push(`${v.name}, fitted on all three tables:`, `  trtllm ${describe(allIn.trtllm)}`, `  vllm   ${describe(allIn.vllm)}`);
    const loto = leaveOneTableOut(CALIBRATION, { params: v.params, iterations: heldOutIterations });
    const loro = leaveOneRowOut(CALIBRATION, 'D', { params: v.params, iterations: heldOutIterations });
    const scores = [...loto, ...loro.scores];
    for (const held of ['A', 'B', 'D', 'one row of D']) {
      console.log(`| ${held === 'A' ? v.name : ''} | ${held === 'one row of D' ? 'one row of D (8 fits)' : `table ${held}`} | ${cell(scores, held, 'throughputTokS')} | ${cell(scores, held, 'ttftMs')} | ${cell(scores, held, 'tpotMs')} |`);
    }
    perRowLines.push(`| ${v.name} | ${loro.perRow.map((p) => `${pct(p.errors.ttftMs)} / ${pct(p.errors.tpotMs)}`).join(' | ')} |`);
    console.error(`  ${v.name}: ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
  }
  const dRows = CALIBRATION.filter((r) => tableOf(r) === 'D');
  console.log('\nLeave-one-row-out within D, per row (TTFT / TPOT error of the row left out):\n');
  console.log(`| parameterisation | ${dRows.map((r) => `${r.isl}/${r.osl} c${r.concurrency}`).join(' | ')} |`);
  console.log(`|---|${dRows.map(() => '---').join('|')}|`);
  for (const l of perRowLines) console.log(l);
  console.log('\n```');
  for (const l of allInLines) console.log(l);
  console.log('```\n');
}

/** What each row demands of the GPU (Little's law, FLOPs counted, no efficiency), and D's TPOT against the decode-only step. */
function feasibilitySection(): void {
  console.log('## Feasibility: FLOP/s each measurement demands, as a fraction of the dense peak of its weight format\n');
  const groups = new Map<string, number[]>();
  for (const r of CALIBRATION) {
    const key = `${tableOf(r)} ${r.model} ${r.gpu} x ${r.tp}`;
    groups.set(key, [...(groups.get(key) ?? []), impliedComputeUtilisation(r)]);
  }
  console.log('| rows | n | min | max |\n|---|---|---|---|');
  for (const [k, u] of groups) console.log(`| ${k} | ${u.length} | ${pct1(Math.min(...u))} | ${pct1(Math.max(...u))} |`);
  console.log('\nTable D row by row, with the decode-only step the shipped model predicts at the mean context (no prefill in the step):\n');
  console.log('| ISL/OSL | conc. | demanded FLOP/s | TPOT measured ms | decode-only step ms | ratio |\n|---|---|---|---|---|---|');
  for (const r of CALIBRATION.filter((x) => tableOf(x) === 'D')) {
    const dep = resolveDeployment({ model: r.model, gpu: r.gpu, tp: r.tp, dtype: r.dtype, kvDtype: r.kvDtype, engine: r.engine });
    const ttft = r.measured.ttftMs! / 1e3;
    const tpot = r.measured.tpotMs! / 1e3;
    const decoding = (r.concurrency * (r.osl - 1) * tpot) / (ttft + (r.osl - 1) * tpot); // Little's law: requests past their first token
    const step = dep.stepTime.breakdownWeighted({ prefill: [], decode: [{ contextLength: r.isl + r.osl / 2, count: decoding }] }).totalSec * 1e3;
    console.log(`| ${r.isl}/${r.osl} | ${r.concurrency} | ${pct1(impliedComputeUtilisation(r))} | ${r.measured.tpotMs} | ${step.toFixed(2)} | ${(r.measured.tpotMs! / step).toFixed(2)} |`);
  }
  cacheHypothesis();
  console.log('');
}

/**
 * Could D's prompts have been partly cached (a benchmark reusing prompt text)? Replays D's rows in
 * the twin (closed loop, the shipped vLLM coefficients) with every prompt sharing its leading
 * fraction f, and scores both columns: a cache explains D only if one f fits TTFT and TPOT together.
 */
function cacheHypothesis(): void {
  console.log('\nTable D replayed in the twin with a shared prompt prefix (fraction of each prompt every request shares), median |error|:\n');
  console.log('| shared prefix | TTFT | TPOT |\n|---|---|---|');
  const rows = CALIBRATION.filter((x) => tableOf(x) === 'D');
  for (const f of [0, 0.5, 0.75, 0.9, 0.99]) {
    const ttft: number[] = [];
    const tpot: number[] = [];
    for (const r of rows) {
      const dep = resolveDeployment({ model: r.model, gpu: r.gpu, tp: r.tp, dtype: r.dtype, kvDtype: r.kvDtype, engine: r.engine });
      const c = r.concurrency;
      const out = runSingleSim({ stepTime: dep.stepTime, numGpuBlocks: dep.kv.numGpuBlocks, isl: r.isl, osl: r.osl, concurrency: c, requests: 8 * c, warmupRequests: 2 * c, sharedPrefixTokens: Math.floor(f * r.isl), clientDelayMaxSeconds: 0.01 });
      ttft.push(Math.abs(out.ttft_ms.mean / r.measured.ttftMs! - 1));
      tpot.push(Math.abs(out.tpot_ms.mean / r.measured.tpotMs! - 1));
    }
    console.log(`| ${(f * 100).toFixed(0)} % | ${pct1(median(ttft))} | ${pct1(median(tpot))} |`);
  }
}

if (!only || only === 'fit') fitSection();
if (!only || only === 'held-out') heldOutSection();
if (!only || only === 'feasibility') feasibilitySection();
