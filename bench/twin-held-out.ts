// npm run bench:twin-held-out -- the engine twin scored on measurements its coefficients never saw:
// NVIDIA aiconfigurator's silicon runs (bench/data/aiconfigurator-silicon.csv, extracted by
// scripts/extract-silicon.ts): vLLM and TensorRT-LLM, aggregated, closed loop at a fixed
// concurrency, 4 models on H100, H200 and B200 at TP 1-8. The step-time coefficients are fitted on calibration
// tables A and B only (docs/physics.md), so every row here is held out.
//
// Each row is simulated step by step (src/sim/single.ts) with the engine profile's limits; its
// mean TTFT and TPOT are compared with the measured means. Output throughput is not in the data;
// the "derived" column is concurrency x OSL / (TTFT + (OSL - 1) x TPOT) of each side (Little's law),
// so it is not an independent check of the other two.
// Options: --quick (every 4th row), --match TEXT (rows whose engine,model,gpu,dtype contains TEXT),
// --rows (print every row, not just the groups), --sync (a synchronous scheduler instead of the
// engines' default async/overlap scheduling, for comparison), --generator-limits (each row with the
// limits aiconfigurator's generator writes for a benchmark deployment instead of the engines'
// defaults: max sequences = the batch size, step token budget = batch size + ISL + 1500),
// --start staggered (the clients out of phase instead of in lock step), --aiperf (the client as
// aiconfigurator's bench_run.sh runs aiperf: drained warm-up phase, 20 rounds counted from a burst,
// a 100-prompt dataset), --client-delay-ms X (each replacement after a random delay in [0, X] ms),
// --bounds (no simulation: which rows' measured TTFT no in-phase client could give, and pairs of
// rows that differ only in output length; see below),
// --phase-range (each row also out of phase: is the measured TTFT between the two readings?).
import { readFileSync } from 'node:fs';
import { resolveDeployment, type Deployment } from '../src/physics/deployment.ts';
import { parseDtype } from '../src/physics/dtype.ts';
import { ENGINE_LIMITS, estimateAtConcurrency } from '../src/physics/serving-model.ts';
import { createStepTimeModel } from '../src/physics/step-time.ts';
import { runSingleSim } from '../src/sim/single.ts';
import { median, percentText } from '../src/bench/stats.ts';
import { badFlag, benchArgs } from './args.ts';

const { values } = benchArgs({
  quick: { type: 'boolean' }, match: { type: 'string' }, rows: { type: 'boolean' }, sync: { type: 'boolean' }, 'generator-limits': { type: 'boolean' },
  start: { type: 'string' }, aiperf: { type: 'boolean' }, 'client-delay-ms': { type: 'string' }, bounds: { type: 'boolean' }, 'phase-range': { type: 'boolean' },
});
if (values.start !== undefined && values.start !== 'burst' && values.start !== 'staggered') {
  badFlag(`--start must be burst or staggered, got '${values.start}'`);
}
if (values['phase-range'] && (values.start === 'staggered' || values.aiperf)) {
  badFlag('--phase-range compares the lock-step reading with the staggered one: leave out --start staggered and --aiperf');
}
const clientDelayMs = Number(values['client-delay-ms'] ?? 0);
if (!(clientDelayMs >= 0 && clientDelayMs <= 10_000)) {
  badFlag(`--client-delay-ms must be a number of milliseconds from 0 to 10000, got '${values['client-delay-ms']}'`);
}

interface SiliconRow {
  engine: 'vllm' | 'trtllm';
  model: string;
  gpu: string;
  dtype: string;
  tp: number;
  isl: number;
  osl: number;
  concurrency: number;
  ttftMs: number;
  tpotMs: number;
}

function readRows(): SiliconRow[] {
  const [, ...lines] = readFileSync(new URL('./data/aiconfigurator-silicon.csv', import.meta.url), 'utf8').trim().split('\n');
  return lines.map((line) => {
    const [engine, model, gpu, dtype, tp, isl, osl, concurrency, ttft, tpot] = line.split(',');
    return {
      engine: engine as SiliconRow['engine'], model: model!, gpu: gpu!, dtype: dtype!, tp: Number(tp), isl: Number(isl),
      osl: Number(osl), concurrency: Number(concurrency), ttftMs: Number(ttft), tpotMs: Number(tpot),
    };
  });
}

// KV cache format: TensorRT-LLM's quantised checkpoints quantise the KV cache to FP8 too; vLLM
// keeps it in the activation type unless told otherwise (--kv-cache-dtype auto).
const kvDtypeOf = (r: SiliconRow) => (r.engine === 'trtllm' && r.dtype !== 'bf16' ? 'fp8' : 'bf16');

// The KV cache follows the step budget the engine profiles at (the generator's, with --generator-limits).
const deploymentOf = (r: SiliconRow) =>
  resolveDeployment({
    model: r.model, gpu: r.gpu, tp: r.tp, dtype: parseDtype(r.dtype), kvDtype: kvDtypeOf(r), engine: r.engine,
    maxNumBatchedTokens: values['generator-limits'] ? generatorLimits(r).maxNumBatchedTokens : undefined,
  });

// vLLM's own default on parts with at least 70 GiB (EngineArgs.get_batch_defaults, API server):
// 1,024 sequences, not the 256 the twin defaults to. It matters only above 256 in flight (9 rows).
const maxNumSeqsOf = (r: SiliconRow, dep: Deployment) =>
  r.engine === 'vllm' && dep.hardware.memoryBytes >= 70 * 2 ** 30 ? 1024 : ENGINE_LIMITS[r.engine].maxNumSeqs;

// aiconfigurator's generator (src/aiconfigurator/generator/rule_plugin/benchmark/{vllm,trtllm}.rule):
// max_batch_size (vLLM --max-num-seqs) = the batch size, max_num_tokens (--max-num-batched-tokens)
// = batch size + ISL + 1500. The data does not say which settings each run had.
const generatorLimits = (r: SiliconRow) => ({ maxNumSeqs: r.concurrency, maxNumBatchedTokens: r.concurrency + r.isl + 1500 });

// How the benchmark's client sends its requests (the data does not record it; see docs/twin-held-out.md).
function clientOf(r: SiliconRow, start = values.start as 'burst' | 'staggered' | undefined) {
  const clientDelayMaxSeconds = clientDelayMs / 1000;
  if (values.aiperf) {
    // aiconfigurator's bench_run.sh: aiperf --warmup-request-count 2C, --num-requests 20C, a
    // synthetic dataset of aiperf's default 100 entries picked at random. aiperf drains the warm-up
    // phase before the profiling phase, which starts with C requests at once and is counted whole.
    // Prefix caching: vLLM's default (on); the generator's TensorRT-LLM template writes
    // enable_block_reuse: false.
    return { requests: 22 * r.concurrency, warmupRequests: 2 * r.concurrency, drainAfterWarmup: true, promptPool: 100, enablePrefixCaching: r.engine === 'vllm', clientDelayMaxSeconds };
  }
  // Three measured rounds after a first one at the cold start (all prompts at once, or staggered).
  return { requests: 4 * r.concurrency, warmupRequests: r.concurrency, start, clientDelayMaxSeconds };
}

function simulate(r: SiliconRow, dep: Deployment, start?: 'burst' | 'staggered') {
  const limits = values['generator-limits'] ? { ...ENGINE_LIMITS[r.engine], ...generatorLimits(r) } : ENGINE_LIMITS[r.engine];
  const maxNumSeqs = values['generator-limits'] ? limits.maxNumSeqs : maxNumSeqsOf(r, dep);
  return runSingleSim({
    stepTime: dep.stepTime, numGpuBlocks: dep.kv.numGpuBlocks, blockSize: dep.kv.blockSize,
    maxNumSeqs, maxNumBatchedTokens: limits.maxNumBatchedTokens, kvReservation: limits.kvReservation, asyncScheduling: !values.sync,
    isl: r.isl, osl: r.osl, concurrency: r.concurrency, ...clientOf(r, start),
  });
}

/** The summary rows a row counts in: its group, its engine, all. */
const groupKeys = (r: SiliconRow) => [`${r.engine} | ${r.model} | ${r.gpu} | ${r.dtype}`, `**all ${r.engine}** | | |`, '**all** | | |'];
/** Groups first, then the summary rows. */
const tableOrder = (keys: Iterable<string>) => [...keys].sort((a, b) => Number(a.startsWith('**')) - Number(b.startsWith('**')) || a.localeCompare(b));

const littles = (conc: number, osl: number, ttftMs: number, tpotMs: number) => (conc * osl) / ((ttftMs + (osl - 1) * tpotMs) / 1000);
const pct = (x: number) => percentText(x);
const signed = (x: number) => percentText(x, true);

type Errors = { ttft: number[]; tpot: number[]; tput: number[]; ttftSigned: number[]; tpotSigned: number[] };
const newErrors = (): Errors => ({ ttft: [], tpot: [], tput: [], ttftSigned: [], tpotSigned: [] });

let rows = readRows();
if (values.match) rows = rows.filter((r) => `${r.engine},${r.model},${r.gpu},${r.dtype}`.includes(values.match!));
if (values.quick) rows = rows.filter((_, i) => i % 4 === 0);

if (values.bounds) {
  printLockStepFloors(rows);
  printOutputLengthPairs(rows);
  process.exit(0);
}

console.log(`# bench:twin-held-out (simulated, against ${rows.length} measured aiconfigurator rows${values.quick ? ', every 4th' : ''})\n`);
if (values.rows) {
  console.log('| engine | model | GPU x TP | dtype | ISL/OSL | conc. | TTFT ms meas | sim | TPOT ms meas | sim | preempt |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
}
const groups = new Map<string, Errors>();
const byEngine = new Map<string, Errors>();
const all = newErrors();
const closedForm = newErrors(); // the planner's steady-state estimate of the same rows, for comparison
// --phase-range: per group, how far each measured TTFT lies outside [in phase, out of phase].
const phaseRange = new Map<string, number[]>();
let skipped = 0;
const t0 = performance.now();
for (const r of rows) {
  let sim;
  let dep: Deployment;
  try {
    dep = deploymentOf(r);
    sim = simulate(r, dep);
  } catch (err) {
    // A configuration our KV sizing says does not fit (the engine would refuse to start).
    skipped++;
    if (values.rows) console.log(`| ${r.engine} | ${r.model} | ${r.gpu} x ${r.tp} | ${r.dtype} | ${r.isl}/${r.osl} | ${r.concurrency} | not simulated: ${(err as Error).message.split('\n')[0]} |`);
    continue;
  }
  const ttftErr = sim.ttft_ms.mean / r.ttftMs - 1;
  const tpotErr = sim.tpot_ms.mean / r.tpotMs - 1;
  const tputErr = littles(r.concurrency, r.osl, sim.ttft_ms.mean, sim.tpot_ms.mean) / littles(r.concurrency, r.osl, r.ttftMs, r.tpotMs) - 1;
  const [group] = groupKeys(r) as [string];
  for (const e of [all, groups.get(group) ?? groups.set(group, newErrors()).get(group)!, byEngine.get(r.engine) ?? byEngine.set(r.engine, newErrors()).get(r.engine)!]) {
    e.ttft.push(Math.abs(ttftErr));
    e.tpot.push(Math.abs(tpotErr));
    e.tput.push(Math.abs(tputErr));
    e.ttftSigned.push(ttftErr);
    e.tpotSigned.push(tpotErr);
  }
  if (values['phase-range']) {
    const [lo, hi] = [sim.ttft_ms.mean, simulate(r, dep, 'staggered').ttft_ms.mean].sort((a, b) => a - b) as [number, number];
    const outside = r.ttftMs < lo ? lo / r.ttftMs - 1 : r.ttftMs > hi ? 1 - hi / r.ttftMs : 0;
    for (const key of groupKeys(r)) (phaseRange.get(key) ?? phaseRange.set(key, []).get(key)!).push(outside);
  }
  const est = estimateAtConcurrency(dep, { isl: r.isl, osl: r.osl, concurrency: r.concurrency }, { limits: values['generator-limits'] ? generatorLimits(r) : { maxNumSeqs: maxNumSeqsOf(r, dep) } });
  closedForm.ttft.push(Math.abs((est.ttftSec * 1e3) / r.ttftMs - 1));
  closedForm.tpot.push(Math.abs((est.tpotSec * 1e3) / r.tpotMs - 1));
  if (values.rows) {
    console.log(`| ${r.engine} | ${r.model} | ${r.gpu} x ${r.tp} | ${r.dtype} | ${r.isl}/${r.osl} | ${r.concurrency} | ${r.ttftMs.toFixed(1)} | ${sim.ttft_ms.mean.toFixed(1)} | ${r.tpotMs.toFixed(2)} | ${sim.tpot_ms.mean.toFixed(2)} | ${sim.preemptions} |`);
  }
}
const wall = (performance.now() - t0) / 1000;

console.log('\nMedian |error| per group (signed median in brackets: + means the twin is slower than measured)\n');
console.log('| engine | model | GPU | dtype | rows | TTFT | TPOT | throughput (derived) |');
console.log('|---|---|---|---|---|---|---|---|');
const line = (name: string, e: Errors) =>
  console.log(`| ${name} | ${e.ttft.length} | ${pct(median(e.ttft))} (${signed(median(e.ttftSigned))}) | ${pct(median(e.tpot))} (${signed(median(e.tpotSigned))}) | ${pct(median(e.tput))} |`);
for (const [name, e] of [...groups].sort(([a], [b]) => a.localeCompare(b))) line(name, e);
for (const [name, e] of byEngine) line(`**all ${name}** | | |`, e);
line('**all** | | |', all);
console.log(`\nThe planner's closed-form estimate (src/physics/serving-model.ts) of the same rows: median |error| TTFT ${pct(median(closedForm.ttft))}, TPOT ${pct(median(closedForm.tpot))}.`);
if (values['phase-range']) printPhaseRange(phaseRange);
console.log(`\n${all.ttft.length} rows simulated, ${skipped} not (the deployment does not fit), in ${wall.toFixed(1)} s wall. Bars (issue 2): TPOT and throughput 15 %, TTFT 30 %.`);

/**
 * --bounds: if each round's C prompts arrived together (a client in lock step), no engine could
 * give them a mean TTFT below (C + 1) / 2 single prefills at the GPU's peak: the k-th prompt to get
 * its first token needs k prefills' FLOPs done first. Peak = the catalog's dense FLOP/s and
 * bandwidth at 100 %, no overheads. A measured mean below that floor means the prompts did not
 * arrive together, or were served from a cache: properties of the benchmark, not of the engine.
 */
function printLockStepFloors(rows: SiliconRow[]): void {
  const ideal = { computeEfficiency: 1, attentionEfficiency: 1, bandwidthEfficiency: 1, stepOverheadSec: 0, layerOverheadSec: 0, requestOverheadSec: 0, allReduceLatencySec: 0, gemmHalfTokens: 0 };
  const byGroup = new Map<string, { rows: number; below: number; ratios: number[] }>();
  for (const r of rows) {
    const dep = deploymentOf(r);
    const peak = createStepTimeModel({ hardware: dep.hardware, model: dep.model, tp: dep.tp, weightDtype: dep.weightDtype, kvDtype: dep.kvDtype, engine: dep.engine, coefficients: ideal });
    const prefillAtPeakMs = peak.stepSeconds({ prefill: [{ tokens: r.isl, cachedContext: 0 }], decode: [] }) * 1000;
    const floorMs = ((r.concurrency + 1) / 2) * prefillAtPeakMs;
    for (const key of groupKeys(r)) {
      const g = byGroup.get(key) ?? byGroup.set(key, { rows: 0, below: 0, ratios: [] }).get(key)!;
      g.rows++;
      if (r.ttftMs < floorMs) g.below++;
      g.ratios.push(r.ttftMs / floorMs);
    }
  }
  console.log(`# bench:twin-held-out --bounds (no simulation: ${rows.length} measured aiconfigurator rows against the lock-step floor, (C + 1) / 2 prefills at 100 % of peak)\n`);
  console.log('| engine | model | GPU | dtype | rows | below the floor | median measured / floor |');
  console.log('|---|---|---|---|---|---|---|');
  for (const key of tableOrder(byGroup.keys())) {
    const g = byGroup.get(key)!;
    console.log(`| ${key} | ${g.rows} | ${g.below} (${pct(g.below / g.rows)}) | ${median(g.ratios).toFixed(2)} |`);
  }
}

/**
 * --phase-range: the closed loop's TTFT depends on whether the clients are in phase, which the data
 * does not record. Each row is simulated in lock step (the default burst start, or --start) and
 * out of phase (--start staggered); a measurement between the two is one some phase of the clients
 * gives. Outside, the distance is |nearest reading / measured - 1|.
 */
function printPhaseRange(byGroup: Map<string, number[]>): void {
  console.log('\nMeasured TTFT against the range between the in-phase and out-of-phase readings\n');
  console.log('| engine | model | GPU | dtype | rows | inside | within 30 % | median distance outside |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const key of tableOrder(byGroup.keys())) {
    const d = byGroup.get(key)!;
    const inside = d.filter((x) => x === 0).length;
    const near = d.filter((x) => x <= 0.3).length;
    console.log(`| ${key} | ${d.length} | ${inside} (${pct(inside / d.length)}) | ${near} (${pct(near / d.length)}) | ${pct(median(d))} |`);
  }
}

/**
 * --bounds, second table: rows that differ only in output length (ISL 1,024 with OSL 1,024 and
 * 8,192, concurrency at most 32 so the KV cache is not short). A prompt's first token barely
 * depends on how long the answer will be, so the two TTFTs should agree; where they do not, the
 * runs differed in something the rows do not record.
 */
function printOutputLengthPairs(rows: SiliconRow[]): void {
  const key = (r: SiliconRow, osl: number) => `${r.engine},${r.model},${r.gpu},${r.dtype},${r.tp},${r.isl},${osl},${r.concurrency}`;
  const byKey = new Map(rows.map((r) => [key(r, r.osl), r]));
  const byGroup = new Map<string, number[]>();
  for (const r of rows) {
    const long = r.isl === 1024 && r.osl === 1024 && r.concurrency <= 32 ? byKey.get(key(r, 8192)) : undefined;
    if (!long) continue;
    for (const k of groupKeys(r)) (byGroup.get(k) ?? byGroup.set(k, []).get(k)!).push(r.ttftMs / long.ttftMs);
  }
  console.log('\nRows that differ only in output length: TTFT at 1024/1024 over TTFT at 1024/8192, same configuration and concurrency (at most 32)\n');
  console.log('| engine | model | GPU | dtype | pairs | within 0.6-1.4x | 1.8x or more | median ratio |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const k of tableOrder(byGroup.keys())) {
    const ratios = byGroup.get(k)!;
    console.log(`| ${k} | ${ratios.length} | ${ratios.filter((x) => x >= 0.6 && x <= 1.4).length} | ${ratios.filter((x) => x >= 1.8).length} | ${median(ratios).toFixed(2)} |`);
  }
}
