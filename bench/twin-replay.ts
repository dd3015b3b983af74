// npm run bench:twin-replay -- the engine twin scored on OPEN-LOOP measurements its coefficients
// never saw, on hardware it was never fitted on: the LLMServingSim project's validation runs
// (bench/data/llmservingsim-vllm.csv, extracted by scripts/extract-llmservingsim.ts), real vLLM 0.19
// servers on workstation GPUs (RTX 4090, RTX PRO 6000) replaying ShareGPT traces at their recorded
// Poisson arrivals (10 requests/s) until the queue holds tens of seconds of work.
//
// Each run's trace is read from ../shared/traces (or --traces) and checked against the SHA-256 the
// run recorded, then replayed through one simulated replica with the run's own vLLM settings (max sequences, step
// token budget, async scheduling) and the GPUs of bench/data/workstation-gpus.yaml. The KV cache is
// the block count vLLM logged when the run recorded it; otherwise the physics' own (printed either
// way). Compared: mean, p50, p90 and p99 of TTFT (queued to first token, as vLLM's engine stamps
// them), TPOT ((last - first token) / (output tokens - 1)) and latency (queued to last token).
// Runs whose trace is not found, and data-parallel runs, are listed, not replayed.
//
// Options: --sync (a synchronous scheduler instead of vLLM's default async scheduling), --traces DIR
// (another folder to look for traces in, such as an LLMServingSim checkout's workloads/).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { median, percentText, summarize, type LatencySummary } from '../src/bench/stats.ts';
import { readTrace } from '../src/bench/traces/index.ts';
import { resolveDeployment } from '../src/physics/deployment.ts';
import { loadHardwareFile } from '../src/physics/hardware.ts';
import { runCluster } from '../src/sim/cluster/cluster.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ sync: { type: 'boolean' }, traces: { type: 'string' } });
const TRACE_DIRS = [new URL('../../shared/traces/', import.meta.url), ...(values.traces ? [pathToFileURL(`${values.traces.replace(/\/$/, '')}/`)] : [])];
const STATS = ['mean', 'p50', 'p90', 'p99'] as const;
const METRICS = ['ttft', 'tpot', 'latency'] as const;
type Metric = (typeof METRICS)[number];

interface Run {
  run: string; gpu: string; model: string; tp: number; dp: number; expertParallel: boolean; maxNumSeqs: number; maxNumBatchedTokens: number;
  numGpuBlocks: number | undefined; blockSize: number; trace: string; traceSha256: string;
  measured: Record<Metric, LatencySummary>;
}

function readRuns(): Run[] {
  const [header, ...lines] = readFileSync(new URL('./data/llmservingsim-vllm.csv', import.meta.url), 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return lines.map((line) => {
    const f = line.split(',');
    const at = (name: string) => f[cols.indexOf(name)]!;
    const summary = (m: Metric): LatencySummary => ({ mean: Number(at(`${m}_mean_ms`)), p50: Number(at(`${m}_p50_ms`)), p90: Number(at(`${m}_p90_ms`)), p99: Number(at(`${m}_p99_ms`)) });
    return {
      run: at('run'), gpu: at('gpu'), model: at('model'), tp: Number(at('tp')), dp: Number(at('dp')), expertParallel: at('expert_parallel') === 'true', maxNumSeqs: Number(at('max_num_seqs')),
      maxNumBatchedTokens: Number(at('max_num_batched_tokens')), numGpuBlocks: at('num_gpu_blocks') ? Number(at('num_gpu_blocks')) : undefined,
      blockSize: Number(at('block_size')), trace: at('trace'), traceSha256: at('trace_sha256'),
      measured: { ttft: summary('ttft'), tpot: summary('tpot'), latency: summary('latency') },
    };
  });
}

/** The trace file (as published or gzipped) in ../shared/traces or --traces, if its contents are the run's. */
function tracePath(run: Run): string {
  for (const url of TRACE_DIRS.flatMap((dir) => [run.trace, `${run.trace}.gz`].map((name) => new URL(name, dir)))) {
    if (!existsSync(url)) continue;
    const bytes = readFileSync(url);
    const text = url.pathname.endsWith('.gz') ? gunzipSync(bytes) : bytes;
    if (createHash('sha256').update(text).digest('hex') !== run.traceSha256) throw new Error(`${url.pathname} is not the trace ${run.run} replayed (SHA-256 differs)`);
    return url.pathname;
  }
  return '';
}

loadHardwareFile(new URL('./data/workstation-gpus.yaml', import.meta.url).pathname);
const runs = readRuns();
console.log(`# bench:twin-replay (simulated, against ${runs.length} measured vLLM runs replaying a trace open loop)\n`);
const errors: Record<Metric, Record<(typeof STATS)[number], number[]>> = {
  ttft: { mean: [], p50: [], p90: [], p99: [] }, tpot: { mean: [], p50: [], p90: [], p99: [] }, latency: { mean: [], p50: [], p90: [], p99: [] },
};
const t0 = performance.now();
for (const run of runs) {
  if (run.dp > 1) {
    // Data-parallel attention with the experts split across the ranks: one engine over dp GPUs,
    // which the twin's plain tensor-parallel replica does not model.
    console.log(`## ${run.run}: not replayed (data parallel x ${run.dp}${run.expertParallel ? ' with expert parallelism' : ''}: not modelled)\n`);
    continue;
  }
  const path = tracePath(run);
  if (!path) {
    console.log(`## ${run.run}: not replayed (its trace ${run.trace} is not in ../shared/traces${values.traces ? ` or ${values.traces}` : ''})\n`);
    continue;
  }
  const physics = resolveDeployment({ model: run.model, gpu: run.gpu, tp: run.tp, dtype: 'bf16', engine: 'vllm', blockSize: run.blockSize, maxNumBatchedTokens: run.maxNumBatchedTokens });
  const numGpuBlocks = run.numGpuBlocks ?? physics.kv.numGpuBlocks;
  const deployment = { ...physics, kv: { ...physics.kv, numGpuBlocks } };
  const trace = readTrace(path);
  const outputTokens = new Map(trace.requests.map((r) => [r.id, r.outputTokens]));
  const sim: Record<Metric, number[]> = { ttft: [], tpot: [], latency: [] };
  const result = runCluster({
    requests: trace.requests, deployment, modelName: run.model, replicas: 1, policy: 'round-robin', saturation: null,
    engine: { maxNumSeqs: run.maxNumSeqs, maxNumBatchedTokens: run.maxNumBatchedTokens, asyncScheduling: !values.sync },
    onRequestDone: (r) => {
      sim.ttft.push(r.ttft * 1e3);
      sim.latency.push(r.e2e * 1e3);
      sim.tpot.push(((r.e2e - r.ttft) * 1e3) / (outputTokens.get(r.id)! - 1));
    },
  });
  const kvNote = run.numGpuBlocks !== undefined ? `${numGpuBlocks} KV blocks as vLLM logged them (the physics gives ${physics.kv.numGpuBlocks})` : `${numGpuBlocks} KV blocks from the physics (the run did not log its own)`;
  console.log(`## ${run.run}: ${run.maxNumSeqs} sequences, ${run.maxNumBatchedTokens} tokens per step, ${kvNote}; ${result.completed} of ${trace.requests.length} requests, ${result.preemptions} preemptions\n`);
  console.log('| ms | measured mean / p50 / p90 / p99 | simulated | error mean / p50 / p90 / p99 |');
  console.log('|---|---|---|---|');
  for (const m of METRICS) {
    const s = summarize(sim[m]);
    const meas = run.measured[m];
    const errs = STATS.map((k) => s[k] / meas[k] - 1);
    STATS.forEach((k, i) => errors[m][k].push(errs[i]!));
    const fmt = (x: LatencySummary) => STATS.map((k) => x[k].toFixed(1)).join(' / ');
    console.log(`| ${m.toUpperCase()} | ${fmt(meas)} | ${fmt(s)} | ${errs.map((e) => percentText(e, true)).join(' / ')} |`);
  }
  console.log('');
}
const replayed = errors.ttft.mean.length;
const medianAbs = (xs: number[]) => percentText(median(xs.map(Math.abs)));
console.log(`Median |error| over ${replayed} replayed runs (mean / p50 / p90 / p99): ` +
  METRICS.map((m) => `${m.toUpperCase()} ${STATS.map((k) => medianAbs(errors[m][k])).join(' / ')}`).join('; ') + '.');
console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s wall. Bars (issue 2): TPOT and throughput 15 %, TTFT 30 %.`);
