// npm run bench:plan — how fast the planner answers, and how its answers compare with the published
// measurements of reference/calibration.md (the validation table in docs/planner.md).
//   node bench/plan.ts [--repeats N]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CALIBRATION } from '../src/physics/calibration-data.ts';
import { median } from '../src/physics/fit.ts';
import { plan, planToJson } from '../src/physics/planner/plan.ts';
import { search } from '../src/physics/planner/search.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ repeats: { type: 'string', default: '5' } });
const repeats = Math.max(1, Number(values.repeats));
const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

function timeIt(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function cliMs(args: string[]): number {
  return timeIt(() => {
    const r = spawnSync(process.execPath, [mainTs, 'plan', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`plan ${args.join(' ')} failed: ${r.stderr}`);
  });
}

const planArgs = { model: 'llama-3.1-70b', gpu: 'h100', tp: 4, dtype: 'fp8', isl: 2000, osl: 500, concurrency: 64, slo: { ttftMs: 1000, tpotMs: 50 } };
const searchReq = { model: 'llama-3.1-70b', isl: 2000, osl: 500, rate: 10, slo: { ttftMs: 1000, tpotMs: 50 } };
let evaluated = 0;
const planMs = timeIt(() => void planToJson(plan(planArgs)));
const searchMs = timeIt(() => void (evaluated = search(searchReq).evaluated));
const planCli = cliMs(['--model', 'llama-3.1-70b', '--gpu', 'h100', '--tp', '4', '--dtype', 'fp8', '--isl', '2000', '--osl', '500', '--concurrency', '64', '--ttft-slo', '1000', '--tpot-slo', '50', '--json']);
const searchCli = cliMs(['--search', '--model', 'llama-3.1-70b', '--isl', '2000', '--osl', '500', '--rate', '10', '--ttft-slo', '1000', '--tpot-slo', '50', '--json']);

console.log(`## Speed (median of ${repeats}, one run, this machine)\n`);
console.log('| what | time | budget | share of budget |\n|---|---|---|---|');
console.log(`| plan() in process, 70B on 4 x H100 | ${planMs.toFixed(1)} ms | 1000 ms | ${(planMs / 1000).toFixed(3)} |`);
console.log(`| \`inferstack plan ... --json\` (new process) | ${planCli.toFixed(0)} ms | 1000 ms | ${(planCli / 1000).toFixed(3)} |`);
console.log(`| search() in process, ${evaluated} options | ${searchMs.toFixed(0)} ms | 10000 ms | ${(searchMs / 10000).toFixed(3)} |`);
console.log(`| \`inferstack plan --search ... --json\` (new process) | ${searchCli.toFixed(0)} ms | 10000 ms | ${(searchCli / 10000).toFixed(3)} |`);

console.log('\n## Planner against published measurements (reference/calibration.md)\n');
console.log('Each row runs `plan()` with the engine profile of the measurement (trtllm or vllm), FP8 weights.\n');
console.log('| source | model | GPU x TP | ISL/OSL | conc. | metric | measured | plan | error |\n|---|---|---|---|---|---|---|---|---|');
const errs = new Map<string, number[]>();
for (const row of CALIBRATION) {
  const p = planToJson(plan({ model: row.model, gpu: row.gpu, tp: row.tp, dtype: row.dtype, kvDtype: row.kvDtype, engine: row.engine, isl: row.isl, osl: row.osl,
    ...(Number.isFinite(row.concurrency) ? { concurrency: row.concurrency } : {}) }));
  const pairs: Array<[string, number | undefined, number]> = [
    [Number.isFinite(row.concurrency) ? 'throughput_tok_s' : 'max_throughput_tok_s', row.measured.throughputTokS, (Number.isFinite(row.concurrency) ? p.throughput_tok_s : p.max_throughput_tok_s) as number],
    ['ttft_ms', row.measured.ttftMs, p.ttft_ms as number],
    ['tpot_ms', row.measured.tpotMs, p.tpot_ms as number],
  ];
  for (const [metric, measured, predicted] of pairs) {
    if (measured === undefined) continue;
    const e = predicted / measured - 1;
    const key = `${row.table.slice(0, 1)} ${metric}`;
    errs.set(key, [...(errs.get(key) ?? []), Math.abs(e)]);
    console.log(`| ${row.table.slice(0, 1)} | ${row.model} | ${row.gpu} x ${row.tp} | ${row.isl}/${row.osl} | ${Number.isFinite(row.concurrency) ? row.concurrency : 'max'} | ${metric} | ${measured} | ${predicted} | ${e >= 0 ? '+' : ''}${(e * 100).toFixed(1)}% |`);
  }
}
console.log('\n| table / metric | rows | median abs error |\n|---|---|---|');
for (const [k, v] of errs) console.log(`| ${k} | ${v.length} | ${(median(v) * 100).toFixed(1)}% |`);
