// Worker thread body: runs trace simulations, one at a time, as the main thread posts them, and
// posts each one's progress and outcome. A worker lives across runs, so a bench of hundreds of runs
// loads the code once (and keeps running the code it started with).
import { parentPort } from 'node:worker_threads';
import { runSpec, type TraceSimSpec } from './run-spec.ts';

parentPort!.on('message', ({ id, spec, policy }: { id: number; spec: TraceSimSpec; policy: string }) => {
  try {
    const outcome = runSpec(spec, policy, (done, total) => parentPort!.postMessage({ id, type: 'progress', done, total }));
    parentPort!.postMessage({ id, type: 'done', outcome });
  } catch (err) {
    parentPort!.postMessage({ id, type: 'error', message: (err as Error).message });
  }
});
