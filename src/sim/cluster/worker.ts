// Worker thread body: runs one policy of a trace simulation and posts progress and the outcome.
import { parentPort, workerData } from 'node:worker_threads';
import { runSpec, type TraceSimSpec } from './run-spec.ts';

const { spec, policy } = workerData as { spec: TraceSimSpec; policy: string };
try {
  const outcome = runSpec(spec, policy, (done, total) => parentPort!.postMessage({ type: 'progress', done, total }));
  parentPort!.postMessage({ type: 'done', outcome });
} catch (err) {
  parentPort!.postMessage({ type: 'error', message: (err as Error).message });
}
