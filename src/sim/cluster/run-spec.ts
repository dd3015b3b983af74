// A trace simulation described by plain data, so it can run here or in a worker thread.
import { ceilingHitRate } from '../../bench/traces/ceiling.ts';
import { readTrace } from '../../bench/traces/index.ts';
import type { Trace } from '../../bench/traces/types.ts';
import { resolveDeployment } from '../../physics/deployment.ts';
import { loadHardwareFile } from '../../physics/hardware.ts';
import type { SaturationThresholds } from '../../scheduler/saturation.ts';
import type { AdmissionLimits } from './admission.ts';
import { runCluster } from './cluster.ts';
import { toDetails, toReport, type PolicyDetails, type PolicyReport } from './report.ts';

export interface TraceSimSpec {
  trace: string;
  model: string;
  gpu: string;
  tp?: number;
  replicas: number;
  pd?: { prefill: number; decode: number };
  rateScale: number;
  seed: number;
  /** Mooncake slot jitter in seconds (default 3; 0 = bursts). */
  jitterSlotSeconds?: number;
  /** Poisson rate for length-only traces (requests/s before --rate-scale). */
  poissonRate?: number;
  maxRequests?: number;
  /** ShareGPT token ids: another seeded draw of the Poisson arrivals the file was generated with. */
  redrawArrivals?: boolean;
  /** Disable the scheduler's saturation check (every request goes straight to an engine). */
  noShed?: boolean;
  /** Saturation thresholds other than the scheduler's default. */
  saturation?: SaturationThresholds;
  /** The gateway's admission queue (default: the gateway's own limits). */
  admission?: AdmissionLimits;
  /** The twins plan each step after the previous one ends (vLLM --no-async-scheduling). */
  noAsyncScheduling?: boolean;
  /** A file of accelerators to add to the catalog first (a worker thread has its own catalog). */
  hardwareFile?: string;
}

export interface PolicyOutcome {
  policy: string;
  report: PolicyReport;
  details: PolicyDetails;
  /** Each trace request's TTFT in seconds, in trace order (NaN: shed or failed), for paired comparisons. */
  ttftByRequest: Float64Array;
}

/** The requests a spec replays: its trace read with the spec's seed, arrivals and request limit. */
export function readSpecTrace(spec: TraceSimSpec): Trace {
  return readTrace(spec.trace, { jitterSlotSeconds: spec.jitterSlotSeconds, poissonRate: spec.poissonRate, seed: spec.seed, maxRequests: spec.maxRequests, redrawArrivals: spec.redrawArrivals });
}

export function runSpec(spec: TraceSimSpec, policy: string, onProgress?: (done: number, total: number) => void): PolicyOutcome {
  const started = performance.now();
  const trace = readSpecTrace(spec);
  if (spec.hardwareFile) loadHardwareFile(spec.hardwareFile);
  const deployment = resolveDeployment({ model: spec.model, gpu: spec.gpu, tp: spec.tp });
  const indexOf = new Map(trace.requests.map((r, i) => [r.id, i]));
  const ttftByRequest = new Float64Array(trace.requests.length).fill(Number.NaN);
  const result = runCluster({
    requests: trace.requests,
    deployment,
    modelName: spec.model,
    replicas: spec.replicas,
    policy,
    seed: spec.seed,
    pd: spec.pd,
    rateScale: spec.rateScale,
    ...(spec.noShed ? { saturation: null } : spec.saturation ? { saturation: spec.saturation } : {}),
    ...(spec.admission ? { admission: spec.admission } : {}),
    ...(spec.noAsyncScheduling ? { engine: { asyncScheduling: false } } : {}),
    onProgress,
    onRequestDone: (r) => (ttftByRequest[indexOf.get(r.id)!] = r.ttft),
  });
  const ceiling = ceilingHitRate(trace.requests, deployment.kv.blockSize);
  return { policy, report: toReport(result, ceiling), details: toDetails(result, (performance.now() - started) / 1000), ttftByRequest };
}
