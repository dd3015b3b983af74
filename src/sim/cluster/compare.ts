// Runs several policies over the same trace and cluster, side by side: in worker threads when
// more than one job is allowed (each policy is an independent, deterministic simulation).
import { Worker } from 'node:worker_threads';
import { runSpec, type PolicyOutcome, type TraceSimSpec } from './run-spec.ts';

/**
 * Policies whose simulation costs about 2.7x round-robin's CPU per request (measured on 4,000
 * Mooncake requests): KV events into the precise index, or the approximate index recording every
 * block of every decision.
 */
const COSTLY = new Set(['llm-d', 'llm-d-precise', 'dynamo', 'inferstack']);

export type ProgressFn = (policy: string, done: number, total: number) => void;

export async function runPolicies(spec: TraceSimSpec, policies: string[], jobs: number, onProgress?: ProgressFn): Promise<PolicyOutcome[]> {
  if (jobs <= 1 || policies.length === 1) {
    return policies.map((p) => runSpec(spec, p, onProgress && ((d, t) => onProgress(p, d, t))));
  }
  const results = new Array<PolicyOutcome>(policies.length);
  // Longest first, so the last lane does not run one long simulation alone at the end. Results
  // keep the caller's order.
  const order = policies.map((_, i) => i).sort((a, b) => Number(COSTLY.has(policies[b]!)) - Number(COSTLY.has(policies[a]!)));
  let next = 0;
  const runOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const policy = policies[i]!;
      const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { spec, policy } });
      w.on('message', (m: { type: string; done?: number; total?: number; outcome?: PolicyOutcome; message?: string }) => {
        if (m.type === 'progress') onProgress?.(policy, m.done!, m.total!);
        else if (m.type === 'done') results[i] = m.outcome!;
        else if (m.type === 'error') reject(new Error(m.message));
      });
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 && results[i] ? resolve() : reject(new Error(`simulation of ${policy} exited with code ${code}`))));
    });
  const lane = async () => {
    while (next < policies.length) await runOne(order[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, policies.length) }, lane));
  return results;
}
