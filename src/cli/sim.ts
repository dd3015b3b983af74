// inferstack sim: one simulated replica in virtual time under a closed loop at fixed concurrency.
import { parseArgs } from 'node:util';
import { resolveDeployment, type Deployment } from '../physics/deployment.ts';
import { PhysicsInputError } from '../physics/errors.ts';
import { loadHardwareFile } from '../physics/hardware.ts';
import { ENGINE_LIMITS } from '../physics/serving-model.ts';
import type { EngineKind } from '../physics/step-time.ts';
import { runSingleSim, type SingleSimResult } from '../sim/single.ts';
import type { LatencySummary } from '../bench/stats.ts';
import { CliError } from './cli-error.ts';
import { numberFlag, required } from './flags.ts';

const USAGE = `usage: inferstack sim --model MODEL --gpu GPU --isl N --osl N --concurrency N [options]

Simulates one engine replica in virtual time (the twin's scheduler, paged prefix cache and the
physics step-time model) under a closed loop: N requests in flight, each finished request replaced
at once. Results are simulated, not measured.

  --model ID|PATH              catalog model id (llama-3.1-8b, ...) or a Hugging Face config.json
  --gpu ID                     accelerator (h100, h200, ...)
  --hardware-file F            add accelerators from a YAML/JSON file (same format as inferstack plan's)
  --tp N                       tensor parallel degree (default 1)
  --dtype D                    weight dtype (bf16, fp16, fp8, int8, int4, fp4)
  --kv-dtype D                 KV cache dtype (default bf16)
  --engine vllm|trtllm         engine profile (default vllm): overheads, KV sizing, default max
                               sequences, and KV reservation (vllm on demand with preemption,
                               trtllm reserves prompt + output at admission)
  --isl N                      prompt tokens per request
  --osl N                      output tokens per request
  --concurrency N              requests in flight
  --requests N                 requests in total (default max(10 x concurrency, 100))
  --shared-prefix N            leading prompt tokens all requests share (default 0)
  --warmup N                   leave the first N requests out of the latency statistics
                               (default 0; the cold start sends all prompts at once)
  --client-delay-ms X          each replacement arrives after a random delay in [0, X] ms
                               (default 0: at once, which lets the loop run in lock step)
  --start burst|staggered      burst (default): the first N requests all start with the full
                               output, so the loop runs in lock step; staggered: their outputs
                               end evenly over one request's lifetime, so the clients are out of
                               phase from then on (the first N are then warm-up unless --warmup)
  --prompt-pool N              draw prompts at random from N distinct ones, like a benchmark with
                               a fixed dataset (repeats hit the prefix cache); default 0: all distinct
  --drain-warmup               the warm-up requests are a phase of their own: the measured ones
                               start together once every warm-up request has finished (aiperf)
  --block-size N               tokens per KV block (default 16)
  --num-gpu-blocks N           override the KV capacity physics computes
  --max-num-seqs N             most sequences per step (default 256 vllm, 2048 trtllm)
  --max-num-batched-tokens N   token budget per step (default 8192); the KV cache is sized at it,
                               as vLLM profiles at it. vLLM's own default is 2048 on GPUs under
                               70 GiB and on A100s: pass 2048 to simulate those
  --no-prefix-caching          do not reuse computed blocks (vLLM --no-enable-prefix-caching)
  --no-async-scheduling        plan each step after the previous one ends (vLLM
                               --no-async-scheduling); by default a request arriving during a
                               step joins the step after next, as in vLLM
  --json                       print one JSON object

With --trace FILE, sim replays a request trace over a simulated cluster instead (its own options:
inferstack sim --trace FILE --help).
`;

const MAX_REQUESTS = 1_000_000;


function milliseconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (value.trim() === '' || !Number.isFinite(ms) || ms < 0 || ms > 3_600_000) throw new CliError(`--${name} must be a number of milliseconds from 0 to 3600000, got '${value}'`);
  return ms / 1000;
}


export async function main(argv: string[]): Promise<void> {
  // Trace replay over a multi-replica virtual cluster lives with the scheduler (src/sim/cluster).
  if (argv.some((a) => a === '--trace' || a.startsWith('--trace='))) return (await import('../sim/cluster/cli.ts')).runTraceSim(argv);
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' }, gpu: { type: 'string' }, tp: { type: 'string' }, dtype: { type: 'string' },
      'kv-dtype': { type: 'string' }, engine: { type: 'string' }, isl: { type: 'string' }, osl: { type: 'string' },
      concurrency: { type: 'string' }, requests: { type: 'string' }, 'shared-prefix': { type: 'string' }, warmup: { type: 'string' }, 'client-delay-ms': { type: 'string' },
      start: { type: 'string' }, 'prompt-pool': { type: 'string' }, 'drain-warmup': { type: 'boolean' },
      'block-size': { type: 'string' }, 'num-gpu-blocks': { type: 'string' }, 'max-num-seqs': { type: 'string' },
      'max-num-batched-tokens': { type: 'string' }, 'hardware-file': { type: 'string' }, 'no-prefix-caching': { type: 'boolean' }, 'no-async-scheduling': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  const model = required('sim', 'model', v.model);
  const gpu = required('sim', 'gpu', v.gpu);
  const isl = required('sim', 'isl', numberFlag('isl', v.isl, { integer: true, min: 1 }));
  const osl = required('sim', 'osl', numberFlag('osl', v.osl, { integer: true, min: 1 }));
  const concurrency = required('sim', 'concurrency', numberFlag('concurrency', v.concurrency, { integer: true, min: 1, max: 100_000 }));
  const requests = numberFlag('requests', v.requests, { integer: true, min: 1, max: MAX_REQUESTS }) ?? Math.max(10 * concurrency, 100);
  const engine = v.engine ?? 'vllm';
  if (engine !== 'vllm' && engine !== 'trtllm') throw new CliError(`--engine must be vllm or trtllm, got '${engine}'`);
  const blockSize = numberFlag('block-size', v['block-size'], { integer: true, min: 1, max: 4096 });
  const limits = ENGINE_LIMITS[engine];
  const maxNumBatchedTokens = numberFlag('max-num-batched-tokens', v['max-num-batched-tokens'], { integer: true, min: 1 }) ?? limits.maxNumBatchedTokens;
  const start = v.start ?? 'burst';
  if (start !== 'burst' && start !== 'staggered') throw new CliError(`--start must be burst or staggered, got '${start}'`);
  // A staggered first wave is not the workload being measured: leave it out unless told otherwise.
  const warmupRequests = numberFlag('warmup', v.warmup, { integer: true, min: 0 }) ?? (start === 'staggered' ? Math.min(concurrency, requests - 1) : 0);

  let deployment: Deployment;
  try {
    if (v['hardware-file']) loadHardwareFile(v['hardware-file']);
    deployment = resolveDeployment({
      model, gpu, tp: numberFlag('tp', v.tp, { integer: true, min: 1, max: 4096 }), dtype: v.dtype, kvDtype: v['kv-dtype'], engine: engine as EngineKind, blockSize, maxNumBatchedTokens,
    });
  } catch (err) {
    if (err instanceof PhysicsInputError) throw new CliError(err.message);
    throw err;
  }
  const numGpuBlocks = numberFlag('num-gpu-blocks', v['num-gpu-blocks'], { integer: true, min: 1 }) ?? deployment.kv.numGpuBlocks;

  let result: SingleSimResult;
  try {
    result = runSingleSim({
      stepTime: deployment.stepTime,
      numGpuBlocks,
      blockSize: blockSize ?? deployment.kv.blockSize,
      maxNumSeqs: numberFlag('max-num-seqs', v['max-num-seqs'], { integer: true, min: 1 }) ?? limits.maxNumSeqs,
      maxNumBatchedTokens,
      kvReservation: limits.kvReservation,
      enablePrefixCaching: !v['no-prefix-caching'],
      asyncScheduling: !v['no-async-scheduling'],
      isl,
      osl,
      concurrency,
      requests,
      sharedPrefixTokens: numberFlag('shared-prefix', v['shared-prefix'], { integer: true, min: 0 }),
      warmupRequests,
      clientDelayMaxSeconds: milliseconds('client-delay-ms', v['client-delay-ms']) ?? 0,
      start,
      promptPool: numberFlag('prompt-pool', v['prompt-pool'], { integer: true, min: 0, max: MAX_REQUESTS }),
      drainAfterWarmup: v['drain-warmup'] === true,
    });
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(err.message);
    throw err;
  }

  if (v.json) {
    const { ttft_ms, tpot_ms, itl_ms, e2e_ms, throughput_tok_s, preemptions, prefix_hit_rate, requests: done } = result;
    process.stdout.write(
      JSON.stringify({
        simulated: true, ttft_ms, tpot_ms, itl_ms, e2e_ms, throughput_tok_s, preemptions, prefix_hit_rate, requests: done,
        rejected: result.rejected, simulated_seconds: result.simulated_seconds, wall_seconds: result.wall_seconds,
      }) + '\n',
    );
    return;
  }
  process.stdout.write(report(deployment, numGpuBlocks, { isl, osl, concurrency, requests }, result));
}

function row(name: string, s: LatencySummary): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-').padStart(11);
  return `  ${name.padEnd(8)}${f(s.mean)}${f(s.p50)}${f(s.p90)}${f(s.p99)}\n`;
}

function report(d: Deployment, blocks: number, w: { isl: number; osl: number; concurrency: number; requests: number }, r: SingleSimResult): string {
  const speed = r.wall_seconds > 0 ? `${Math.round(r.simulated_seconds / r.wall_seconds)}x real time` : '';
  return (
    `inferstack sim (simulated, not measured): ${d.model.id} on ${d.tp} x ${d.hardware.id}, ` +
    `${d.weightDtype} weights, ${d.kvDtype} KV, ${d.engine} profile\n` +
    `  KV cache ${blocks} blocks; isl ${w.isl}, osl ${w.osl}, concurrency ${w.concurrency}, ${w.requests} requests\n\n` +
    `  ms            mean        p50        p90        p99\n` +
    row('TTFT', r.ttft_ms) + row('TPOT', r.tpot_ms) + row('ITL', r.itl_ms) + row('E2E', r.e2e_ms) +
    `\n  output throughput  ${r.throughput_tok_s.toFixed(1)} tok/s\n` +
    `  requests           ${r.requests} completed${r.rejected ? `, ${r.rejected} rejected` : ''}\n` +
    `  preemptions        ${r.preemptions}\n` +
    `  prefix hit rate    ${(100 * r.prefix_hit_rate).toFixed(1)} %\n` +
    `  simulated ${r.simulated_seconds.toFixed(1)} s in ${r.wall_seconds.toFixed(2)} s wall (${speed})\n`
  );
}
