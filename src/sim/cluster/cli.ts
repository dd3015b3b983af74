// `inferstack sim --trace FILE ...`: replays a request trace over a virtual cluster of simulated
// replicas, routed by the real scheduler, for one policy or several side by side.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { median } from '../../bench/stats.ts';
import { TraceFormatError } from '../../bench/traces/types.ts';
import { CliError } from '../../cli/cli-error.ts';
import { numberFlag } from '../../cli/flags.ts';
import { DEFAULT_LIMITS } from '../../gateway/config.ts';
import { resolveDeployment } from '../../physics/deployment.ts';
import { loadHardwareFile } from '../../physics/hardware.ts';
import { PhysicsInputError } from '../../physics/errors.ts';
import { policyNames } from '../../scheduler/index.ts';
import type { SaturationThresholds } from '../../scheduler/saturation.ts';
import type { AdmissionLimits } from './admission.ts';
import { runPolicies } from './compare.ts';
import { formatKvDemand, kvDemand } from './kv-demand.ts';
import { formatP90Comparison, formatTable, formatTtftPredictions, formatTtftTail, type PolicyReport } from './report.ts';
import { readSpecTrace, type PolicyOutcome, type TraceSimSpec } from './run-spec.ts';

const USAGE = `usage: inferstack sim --trace FILE --replicas N --model MODEL --gpu GPU [options]

Replays a request trace over N simulated replicas (engine twins) on one virtual clock, routed by
the real scheduler with signals delivered as they would be live (metrics scraped every 50 ms, KV
events 20 ms after the engine stores blocks). Results are simulated, not measured.

  --trace FILE           Mooncake JSONL, Azure CSV, ShareGPT token-id JSONL or a length-only CSV (.gz ok)
  --replicas N           number of replicas
  --model ID, --gpu ID   catalog model and accelerator (e.g. llama-3.1-8b, h100)
  --hardware-file F      add accelerators from a YAML/JSON file (same format as inferstack plan's)
  --tp N                 tensor parallel degree per replica (default 1)
  --pd P:D               prefill/decode disaggregation, replicas split in this ratio
  --rate-scale X         multiply the trace's request rate by X (default 1)
  --policy NAME          one policy (default inferstack)
  --compare A,B,...|all  several policies side by side; the table ends with each one's p90 TTFT
                         against the lowest, with a 95 % interval over the trace's requests,
                         then where the wait went (share of requests over 0.5 / 1 / 2 / 5 s, sum
                         of all TTFTs); inferstack's line after it compares the TTFT it predicted
                         at each decision with the simulated one. Without --pd the table ends with
                         the trace's KV demand against the cluster's KV (a fluid estimate)
  --seed N               seed for arrival jitter and tie-breaks (default 1)
  --jitter SECONDS       Mooncake: spread arrivals inside each timestamp slot (default 3; 0 = bursts)
  --poisson-rate R       length-only traces: arrival rate before --rate-scale (default 5/s)
  --max-requests N       replay only the first N requests
  --redraw-arrivals      ShareGPT token ids: replace the file's Poisson arrivals with another
                         draw at the same mean rate, seeded by --seed (one trace of 300 requests
                         is a small sample; each seed is another)
  --queue-size N         the gateway's admission queue, where requests wait while every replica
                         is saturated (default 1024, as serve's; 0 = shed at once)
  --queue-timeout-ms MS  longest wait in that queue before the request is shed (default 30000)
  --saturation Q:KV      a replica is saturated at Q waiting requests or KV usage KV
                         (default 5:1, a full cache; llm-d's detector is 5:0.8)
  --no-shed              no saturation check: every request goes to a replica at once
  --no-async-scheduling  the twins plan each step after the previous one ends (by default, as
                         vLLM, a request arriving during a step joins the step after next)
  --jobs N               policies simulated in parallel (default: CPU count)
  --json                 print one JSON object keyed by policy

policies: ${policyNames().join(', ')}
`;


export function parsePd(v: string | undefined): { prefill: number; decode: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new CliError(`--pd must be P:D with positive integers, got '${v}'`);
  return { prefill: Number(m[1]), decode: Number(m[2]) };
}

export async function runTraceSim(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      trace: { type: 'string' }, replicas: { type: 'string' }, model: { type: 'string' }, gpu: { type: 'string' },
      tp: { type: 'string' }, pd: { type: 'string' }, 'rate-scale': { type: 'string' }, policy: { type: 'string' },
      compare: { type: 'string' }, seed: { type: 'string' }, jitter: { type: 'string' }, 'poisson-rate': { type: 'string' },
      'max-requests': { type: 'string' }, 'no-shed': { type: 'boolean' }, 'queue-size': { type: 'string' }, saturation: { type: 'string' }, 'queue-timeout-ms': { type: 'string' }, 'no-async-scheduling': { type: 'boolean' }, 'redraw-arrivals': { type: 'boolean' }, 'hardware-file': { type: 'string' }, jobs: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!v.trace) throw new CliError('--trace is required (see inferstack sim --help)');
  if (!v.model || !v.gpu) throw new CliError('--model and --gpu are required with --trace');
  const replicas = numberFlag('replicas', v.replicas, { integer: true, min: 1 });
  if (replicas === undefined) throw new CliError('--replicas is required with --trace');
  if (replicas > 1024) throw new CliError('--replicas must be at most 1024');
  if (v.policy && v.compare) throw new CliError('give --policy or --compare, not both');
  const known = policyNames();
  const policies = v.compare ? (v.compare === 'all' ? known : v.compare.split(',').map((s) => s.trim())) : [v.policy ?? 'inferstack'];
  for (const p of policies) if (!known.includes(p)) throw new CliError(`unknown policy '${p}' (known: ${known.join(', ')})`);
  if (new Set(policies).size !== policies.length) throw new CliError('--compare lists a policy twice');
  const pd = parsePd(v.pd);
  if (pd && replicas < 2) throw new CliError('--pd needs at least 2 replicas');
  const spec: TraceSimSpec = {
    trace: v.trace,
    model: v.model,
    gpu: v.gpu,
    tp: numberFlag('tp', v.tp, { integer: true, min: 1 }),
    replicas,
    pd,
    rateScale: numberFlag('rate-scale', v['rate-scale'], { positive: true }) ?? 1,
    seed: numberFlag('seed', v.seed, { integer: true, min: 0 }) ?? 1,
    jitterSlotSeconds: numberFlag('jitter', v.jitter, { min: 0 }),
    poissonRate: numberFlag('poisson-rate', v['poisson-rate'], { positive: true }),
    maxRequests: numberFlag('max-requests', v['max-requests'], { integer: true, min: 1 }),
    ...(v['redraw-arrivals'] ? { redrawArrivals: true } : {}),
    ...(v['no-shed'] ? { noShed: true } : {}),
    ...(v.saturation !== undefined ? { saturation: parseSaturation(v.saturation) } : {}),
    ...admissionFlags(v['queue-size'], v['queue-timeout-ms']),
    ...(v['no-async-scheduling'] ? { noAsyncScheduling: true } : {}),
    ...(v['hardware-file'] ? { hardwareFile: v['hardware-file'] } : {}),
  };
  try {
    // Here too: a bad file is reported before any worker starts, and the KV-demand line needs it.
    if (spec.hardwareFile) loadHardwareFile(spec.hardwareFile);
  } catch (err) {
    if (err instanceof PhysicsInputError) throw new CliError(err.message);
    throw err;
  }
  const jobs = numberFlag('jobs', v.jobs, { integer: true, min: 1 }) ?? availableParallelism();

  const bar = process.stderr.isTTY ? progressBar(policies) : undefined;
  let outcomes;
  try {
    outcomes = await runPolicies(spec, policies, jobs, bar?.update);
  } catch (err) {
    if (err instanceof TraceFormatError || err instanceof PhysicsInputError) throw new CliError(err.message);
    // Errors from worker threads arrive as plain Errors carrying the original message.
    if (err instanceof Error && /trace|model|gpu|tp |fit/i.test(err.message)) throw new CliError(err.message);
    throw err;
  } finally {
    bar?.done();
  }
  if (v.json) {
    const out: Record<string, PolicyReport> = {};
    for (const o of outcomes) out[o.policy] = o.report;
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const mode = pd ? `, P/D ${pd.prefill}:${pd.decode}` : '';
  process.stdout.write(`simulated: ${spec.trace} on ${replicas} x ${spec.model} / ${spec.gpu}${spec.tp ? ` TP${spec.tp}` : ''}${mode}, rate x${spec.rateScale}\n`);
  process.stdout.write(formatTable(outcomes));
  process.stdout.write(formatP90Comparison(outcomes));
  process.stdout.write(formatTtftTail(outcomes));
  process.stdout.write(formatTtftPredictions(outcomes));
  // Aggregated replicas only: under P/D the prompt's KV lives on two sides.
  if (!pd) process.stdout.write(kvDemandLine(spec, outcomes));
}

/** The trace's KV demand against the cluster's KV, decoding at the policies' median mean ITL. */
function kvDemandLine(spec: TraceSimSpec, outcomes: PolicyOutcome[]): string {
  const { kv } = resolveDeployment({ model: spec.model, gpu: spec.gpu, tp: spec.tp });
  const decodeSecondsPerToken = median(outcomes.map((o) => o.report.itl_ms.mean)) / 1000;
  if (!(decodeSecondsPerToken > 0)) return '';
  const demand = kvDemand(readSpecTrace(spec).requests, { rateScale: spec.rateScale, decodeSecondsPerToken, capacityTokens: spec.replicas * kv.numGpuBlocks * kv.blockSize });
  return formatKvDemand(demand, decodeSecondsPerToken);
}

function parseSaturation(v: string): SaturationThresholds {
  const m = /^(\d+):(\d*\.?\d+)$/.exec(v);
  const kv = m ? Number(m[2]) : NaN;
  if (!m || !(kv > 0 && kv <= 1)) throw new CliError(`--saturation must be QUEUE:KV with KV in (0, 1], e.g. 5:0.8, got '${v}'`);
  return { queueDepth: Number(m[1]), kvUsage: kv };
}

function admissionFlags(size: string | undefined, timeoutMs: string | undefined): { admission?: AdmissionLimits } {
  if (size === undefined && timeoutMs === undefined) return {};
  return {
    admission: {
      size: numberFlag('queue-size', size, { integer: true, min: 0, max: 1_000_000 }) ?? DEFAULT_LIMITS.queueSize,
      timeoutSeconds: (numberFlag('queue-timeout-ms', timeoutMs, { positive: true }) ?? DEFAULT_LIMITS.queueTimeoutMs) / 1000,
    },
  };
}

/** One line on stderr, redrawn in place: each policy's share of settled requests. */
function progressBar(policies: string[]) {
  const state = new Map(policies.map((p) => [p, 0]));
  let last = 0;
  const draw = () => {
    const parts = [...state].map(([p, f]) => `${p} ${'#'.repeat(Math.round(f * 10)).padEnd(10, '.')}`);
    process.stderr.write(`\r${parts.join('  ')}`.slice(0, (process.stderr.columns ?? 120) - 1));
  };
  return {
    update: (policy: string, done: number, total: number) => {
      state.set(policy, total > 0 ? done / total : 1);
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        draw();
      }
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}
