// Recomputes the step-time fit on reference/calibration.md and prints the tables that
// docs/physics.md quotes:  node bench/physics-fit.ts [--iterations N]
import { parseArgs } from 'node:util';
import { CALIBRATION, type CalibrationRow } from '../src/physics/calibration-data.ts';
import { evaluateCalibration, fitCoefficients, FIT_ROWS, summarise, type RowResult } from '../src/physics/fit.ts';
import { FITTED, type StepTimeCoefficients } from '../src/physics/step-time.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '600' } } });
const iterations = Number(values.iterations);

const pct = (x: number | undefined): string => (x === undefined ? '' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function printCoefficients(label: string, c: StepTimeCoefficients): void {
  console.log(`${label}: compute ${c.computeEfficiency.toFixed(3)}, attention ${c.attentionEfficiency.toFixed(3)}, bandwidth ${c.bandwidthEfficiency.toFixed(3)}, ` +
    `step ${(c.stepOverheadSec * 1e6).toFixed(1)} us, layer ${(c.layerOverheadSec * 1e6).toFixed(1)} us, request ${(c.requestOverheadSec * 1e6).toFixed(2)} us, ` +
    `all-reduce ${(c.allReduceLatencySec * 1e6).toFixed(1)} us`);
}

function printSummary(results: RowResult[]): void {
  console.log('| table | metric | rows | median abs error |\n|---|---|---|---|');
  for (const s of summarise(results)) console.log(`| ${s.table} | ${s.metric} | ${s.n} | ${(s.medianAbsError * 100).toFixed(1)}% |`);
}

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
