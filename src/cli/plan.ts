// inferstack plan: capacity planner and cost model on the physics module.
//   inferstack plan --model M --gpu G [--tp N] [--dtype D] [--kv-dtype D] --isl I --osl O
//     [--concurrency C | --rate R] [--ttft-slo MS] [--tpot-slo MS] [--gpu-hour-price USD]
//     [--energy-price USD_PER_KWH] [--pue X] [--engine vllm|trtllm] [--hardware-file F] [--json]
//   inferstack plan --search --model M (--isl I --osl O --rate R | --trace F) [--gpus a,b] [--max-gpus N] [--html F]
//   inferstack plan --compare --model M --isl I --osl O [--gpu G] [--vs wse3|groq-lpu]
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { CliError } from './cli-error.ts';
import { numberFlag, required } from './flags.ts';
import { PhysicsInputError } from '../physics/errors.ts';
import { loadHardwareFile } from '../physics/hardware.ts';
import type { EngineKind } from '../physics/step-time.ts';
import { plan, planToJson } from '../physics/planner/plan.ts';
import { formatPlan } from '../physics/planner/format-plan.ts';
import { DoesNotFitError } from '../physics/kv-capacity.ts';
import type { OptionResult } from '../physics/planner/search.ts';
import type { Side } from '../physics/planner/compare.ts';
import { parseDtype } from '../physics/dtype.ts';

const USAGE = `usage: inferstack plan --model M --gpu G --isl I --osl O [--tp N] [--dtype D] [--kv-dtype D]
         [--concurrency C | --rate R] [--ttft-slo MS] [--tpot-slo MS] [--gpu-hour-price USD]
         [--energy-price USD_PER_KWH] [--pue X] [--engine vllm|trtllm] [--hardware-file F] [--json]
         [--max-num-seqs N] [--max-num-batched-tokens N] [--gpu-memory-utilization X] [--block-size N]
       inferstack plan --search --model M (--isl I --osl O --rate R | --trace F) [--ttft-slo MS] [--tpot-slo MS]
         [--gpus h100,h200,...] [--max-gpus N] [--html report.html] [--top N] [--json]
       inferstack plan --compare --model M --isl I --osl O [--gpu G] [--vs wse3|groq-lpu] [--json]
       inferstack plan --list        (the model and accelerator catalogs)
(all numbers are estimates from the calibrated physics model; see docs/physics.md and docs/planner.md)
`;

const options = {
  model: { type: 'string' },
  gpu: { type: 'string' },
  tp: { type: 'string' },
  dtype: { type: 'string' },
  'kv-dtype': { type: 'string' },
  engine: { type: 'string' },
  isl: { type: 'string' },
  osl: { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  'ttft-slo': { type: 'string' },
  'tpot-slo': { type: 'string' },
  'gpu-hour-price': { type: 'string' },
  'energy-price': { type: 'string' },
  pue: { type: 'string' },
  'hardware-file': { type: 'string' },
  'max-num-seqs': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'gpu-memory-utilization': { type: 'string' },
  'block-size': { type: 'string' },
  json: { type: 'boolean' },
  search: { type: 'boolean' },
  compare: { type: 'boolean' },
  gpus: { type: 'string' },
  'max-gpus': { type: 'string' },
  html: { type: 'string' },
  top: { type: 'string' },
  trace: { type: 'string' },
  vs: { type: 'string' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type PlanArgs = ReturnType<typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: false }>>['values'];



function engineFlag(value: string | undefined): EngineKind | undefined {
  if (value === undefined) return undefined;
  if (value !== 'vllm' && value !== 'trtllm') throw new CliError(`--engine must be vllm or trtllm, got '${value}'`);
  return value;
}

const MAX_TOKENS = 10_000_000;

export function workloadFlags(v: PlanArgs): { isl: number; osl: number } {
  return {
    isl: numberFlag('isl', required('plan', 'isl', v.isl), { integer: true, min: 1, max: MAX_TOKENS })!,
    osl: numberFlag('osl', required('plan', 'osl', v.osl), { integer: true, min: 1, max: MAX_TOKENS })!,
  };
}

export function priceFlags(v: PlanArgs): { gpuHourUsd?: number; energyUsdPerKwh?: number; pue?: number } {
  return {
    gpuHourUsd: numberFlag('gpu-hour-price', v['gpu-hour-price'], { min: 0, max: 10_000 }),
    energyUsdPerKwh: numberFlag('energy-price', v['energy-price'], { min: 0, max: 100 }),
    pue: numberFlag('pue', v.pue, { min: 1, max: 5 }),
  };
}

export function sloFlags(v: PlanArgs): { ttftMs?: number; tpotMs?: number } {
  return {
    ttftMs: numberFlag('ttft-slo', v['ttft-slo'], { min: 0.001 }),
    tpotMs: numberFlag('tpot-slo', v['tpot-slo'], { min: 0.001 }),
  };
}

// --search and --compare load their modules on demand, so a plain `plan` starts fast.
async function runSearch(v: PlanArgs): Promise<void> {
  const [{ reportCurves, search }, { formatSearch }, { searchReportHtml }, { loadTrace }] = await Promise.all([
    import('../physics/planner/search.ts'), import('../physics/planner/format-search.ts'),
    import('../physics/planner/html-report.ts'), import('../physics/planner/trace-workload.ts'),
  ]);
  let workload: { isl: number; osl: number; rate: number };
  if (v.trace) {
    if (v.isl || v.osl || v.rate) throw new CliError('give --trace or --isl/--osl/--rate, not both');
    const t = loadTrace(v.trace);
    process.stderr.write(`trace: ${t.requests} requests over ${t.durationSec.toFixed(1)} s: mean ISL ${t.isl}, OSL ${t.osl}, ${t.rate.toFixed(3)} req/s\n`);
    workload = t;
  } else {
    workload = { ...workloadFlags(v), rate: numberFlag('rate', required('plan', 'rate', v.rate), { min: 1e-6, max: 1e7 })! };
  }
  const gpus = v.gpus?.split(',').map((g) => g.trim()).filter(Boolean);
  const prices = priceFlags(v);
  if (prices.gpuHourUsd !== undefined && gpus?.length !== 1) throw new CliError('--gpu-hour-price applies to one accelerator: add --gpus with a single id');
  const top = numberFlag('top', v.top, { integer: true, min: 1, max: 1000 }) ?? 15;
  const result = search({
    model: required('plan', 'model', v.model), ...workload, slo: sloFlags(v), gpus, engine: engineFlag(v.engine),
    maxGpus: numberFlag('max-gpus', v['max-gpus'], { integer: true, min: 1, max: 4096 }),
    energyUsdPerKwh: prices.energyUsdPerKwh, pue: prices.pue, gpuHourUsd: prices.gpuHourUsd,
  });
  if (v.json) {
    const pick = (r: OptionResult) => ({ option: r.label, ...r.option, meets_slo: r.ok, reason: r.reason, usd_per_mtok: finite(r.usdPerMtok),
      usd_per_mtok_out: finite(r.usdPerMtokOut), usd_per_hour: finite(r.usdPerHour), ttft_ms: finite(r.ttftMs), tpot_ms: finite(r.tpotMs),
      joules_per_token: finite(r.joulesPerOutputToken), max_rate_within_slo_rps: finite(r.maxRateWithinSlo) });
    process.stdout.write(JSON.stringify({ evaluated: result.evaluated, workload, best: result.best ? pick(result.best) : null,
      options: result.ranked.slice(0, top).map(pick) }, null, 2) + '\n');
  } else {
    process.stdout.write(formatSearch(result, top));
    if (!v.html) process.stdout.write('(add --html FILE for the report with the cost-against-rate plot)\n');
  }
  if (v.html) {
    try {
      writeFileSync(v.html, searchReportHtml(result, reportCurves(result)));
    } catch (err) {
      throw new CliError(`cannot write report '${v.html}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    process.stderr.write(`wrote ${v.html}\n`);
  }
}

const finite = (x: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(4)) : null);

async function runCompare(v: PlanArgs): Promise<void> {
  const [{ compare }, { formatCompare }] = await Promise.all([import('../physics/planner/compare.ts'), import('../physics/planner/format-compare.ts')]);
  const r = compare({
    model: required('plan', 'model', v.model), ...workloadFlags(v), gpu: v.gpu ?? 'h100', sram: v.vs ?? 'groq-lpu',
    dtype: v.dtype === undefined ? undefined : parseDtype(v.dtype), energyUsdPerKwh: priceFlags(v).energyUsdPerKwh, pue: priceFlags(v).pue,
  });
  if (!v.json) {
    process.stdout.write(formatCompare(r));
    return;
  }
  const sideJson = (s: Side | null) => s && { devices: s.devices, tpot_ms: finite(s.tpotMs), ttft_ms: finite(s.ttftMs), throughput_tok_s: finite(s.outputTokS), usd_per_mtok_out: finite(s.usdPerMtokOut) };
  process.stdout.write(JSON.stringify({
    model: r.request.model, dtype: r.dtype, hbm: r.hbm.id, sram: r.sram.id, hbm_cheaper_from_batch: r.hbmCheaperFromBatch,
    tpot_floor_ms: r.tpotFloorMs, rows: r.rows.map((x) => ({ batch: x.batch, cheaper: x.cheaper, hbm: sideJson(x.hbm), sram: sideJson(x.sram) })), summary: r.summary,
  }, null, 2) + '\n');
}

async function runList(): Promise<void> {
  const [{ listModels }, { listHardware }] = await Promise.all([import('../physics/models.ts'), import('../physics/hardware.ts')]);
  const lines = ['models (or a path to a Hugging Face config.json):'];
  for (const m of listModels()) {
    const moe = m.moe ? `, ${(m.params.active / 1e9).toFixed(1)}B active` : '';
    lines.push(`  ${m.id.padEnd(18)} ${m.name}: ${(m.params.total / 1e9).toFixed(1)}B params${moe}, ${m.layers} layers, context ${m.contextLength}`);
  }
  lines.push('', 'accelerators (add your own with --hardware-file):');
  for (const h of listHardware()) {
    lines.push(`  ${h.id.padEnd(10)} ${h.name}: ${(h.memoryBytes / 2 ** 30).toFixed(1)} GiB ${h.memoryKind.toUpperCase()}, ` +
      `${(h.memBandwidthBytesPerSec / 1e12).toFixed(2)} TB/s, ${(h.flops.bf16 / 1e12).toFixed(0)} TFLOPS BF16, ${h.tdpWatts} W, $${h.hourlyUsd}/h assumed`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function runPlan(v: PlanArgs): void {
  const { isl, osl } = workloadFlags(v);
  const concurrency = numberFlag('concurrency', v.concurrency, { integer: true, min: 1, max: 1_000_000 });
  const rate = numberFlag('rate', v.rate, { min: 1e-9, max: 1e9 });
  if (concurrency !== undefined && rate !== undefined) throw new CliError('give --concurrency or --rate, not both');
  try {
    const p = plan({
      model: required('plan', 'model', v.model), gpu: required('plan', 'gpu', v.gpu), tp: numberFlag('tp', v.tp, { integer: true, min: 1, max: 4096 }),
      dtype: v.dtype, kvDtype: v['kv-dtype'], engine: engineFlag(v.engine), isl, osl, concurrency, rate, slo: sloFlags(v), prices: priceFlags(v),
      gpuMemoryUtilization: numberFlag('gpu-memory-utilization', v['gpu-memory-utilization'], { min: 0.01, max: 1 }),
      blockSize: numberFlag('block-size', v['block-size'], { integer: true, min: 1, max: 1024 }),
      limits: {
        maxNumSeqs: numberFlag('max-num-seqs', v['max-num-seqs'], { integer: true, min: 1, max: 1_000_000 }),
        maxNumBatchedTokens: numberFlag('max-num-batched-tokens', v['max-num-batched-tokens'], { integer: true, min: 1, max: 10_000_000 }),
      },
    });
    process.stdout.write(v.json ? JSON.stringify(planToJson(p), null, 2) + '\n' : formatPlan(p));
  } catch (err) {
    // Not fitting is an answer worth a JSON object too; the exit status still says it failed.
    if (err instanceof DoesNotFitError && v.json) {
      process.stdout.write(JSON.stringify({ fits: false, short_gib_per_gpu: Number((err.shortBytes / 1024 ** 3).toFixed(3)), error: err.message }) + '\n');
      throw new CliError(err.message, 1);
    }
    throw err;
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    if (v['hardware-file']) loadHardwareFile(v['hardware-file']);
    if (v.search && v.compare) throw new CliError('give --search or --compare, not both');
    if (v.list) {
      await runList();
    } else if (v.search) {
      await runSearch(v);
    } else if (v.compare) {
      await runCompare(v);
    } else {
      runPlan(v);
    }
  } catch (err) {
    // Every physics input error (unknown id, impossible configuration) becomes one line, exit 2.
    if (err instanceof PhysicsInputError) throw new CliError(err.message, err instanceof DoesNotFitError ? 1 : 2);
    throw err;
  }
}
