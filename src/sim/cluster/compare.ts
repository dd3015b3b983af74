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

type WorkerMessage = { id: number; type: 'progress' | 'done' | 'error'; done?: number; total?: number; outcome?: PolicyOutcome; message?: string };

/**
 * Simulation workers, kept between calls: a bench that runs hundreds of simulations starts each
 * worker (and loads the code) once. An idle worker is unref'd, so it never keeps the process alive.
 */
class SimulationWorker {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url));
  private task: { id: number; onMessage: (m: WorkerMessage) => void; fail: (err: Error) => void } | undefined;
  private nextId = 0;
  dead = false;

  constructor() {
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => (m.id === this.task?.id ? this.task.onMessage(m) : undefined));
    const die = (err: Error) => {
      this.dead = true;
      this.task?.fail(err);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`simulation worker exited with code ${code}`)));
  }

  run(spec: TraceSimSpec, policy: string, onProgress?: ProgressFn): Promise<PolicyOutcome> {
    if (this.dead) return Promise.reject(new Error('simulation worker is gone'));
    if (this.task) return Promise.reject(new Error('simulation worker is busy'));
    return new Promise((resolve, reject) => {
      const end = () => {
        this.task = undefined;
        this.worker.unref();
      };
      this.task = {
        id: ++this.nextId,
        onMessage: (m) => {
          if (m.type === 'progress') onProgress?.(policy, m.done!, m.total!);
          else if (m.type === 'done') (end(), resolve(m.outcome!));
          else (end(), reject(new Error(m.message)));
        },
        fail: (err) => (end(), reject(err)),
      };
      this.worker.ref();
      this.worker.postMessage({ id: this.task.id, spec, policy });
    });
  }
}

const workers: SimulationWorker[] = [];

/** `n` live workers, started now: a bench calls this first, so later edits to the source cannot reach its runs. */
export function simulationWorkers(n: number): SimulationWorker[] {
  for (let i = workers.length - 1; i >= 0; i--) if (workers[i]!.dead) workers.splice(i, 1);
  while (workers.length < n) workers.push(new SimulationWorker());
  return workers.slice(0, n);
}

export async function runPolicies(spec: TraceSimSpec, policies: string[], jobs: number, onProgress?: ProgressFn): Promise<PolicyOutcome[]> {
  return runSimulations(policies.map((policy) => ({ spec, policy })), jobs, onProgress);
}

/** A batch of independent simulations (say, every draw of a trace under every policy), spread over `jobs` workers; results in the caller's order. */
export async function runSimulations(runs: Array<{ spec: TraceSimSpec; policy: string }>, jobs: number, onProgress?: ProgressFn): Promise<PolicyOutcome[]> {
  if (jobs <= 1 || runs.length === 1) {
    return runs.map(({ spec, policy }) => runSpec(spec, policy, onProgress && ((d, t) => onProgress(policy, d, t))));
  }
  const results = new Array<PolicyOutcome>(runs.length);
  // Longest first, so the last lane does not run one long simulation alone at the end. Results
  // keep the caller's order.
  const order = runs.map((_, i) => i).sort((a, b) => Number(COSTLY.has(runs[b]!.policy)) - Number(COSTLY.has(runs[a]!.policy)));
  let next = 0;
  // After a failure no new run starts, and the call settles only once every worker is idle again,
  // so the next call finds none of them busy.
  let failure: { error: unknown } | undefined;
  const lane = async (w: SimulationWorker) => {
    while (next < runs.length && !failure) {
      const i = order[next++]!;
      try {
        results[i] = await w.run(runs[i]!.spec, runs[i]!.policy, onProgress);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(simulationWorkers(Math.min(jobs, runs.length)).map(lane));
  if (failure) throw failure.error;
  return results;
}
