// Policies side by side in worker threads that live across calls: the same outcomes as in this
// thread, the same workers reused, and a failed run that leaves the next call working.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPolicies, runSimulations, simulationWorkers } from '../../../src/sim/cluster/compare.ts';
import type { TraceSimSpec } from '../../../src/sim/cluster/run-spec.ts';
import { writeConversationTrace } from './fixtures.ts';

const { path, dir } = writeConversationTrace({ conversations: 4, turns: 3, gapMs: 100 });
after(() => rmSync(dir, { recursive: true, force: true }));
const spec: TraceSimSpec = { trace: path, model: 'llama-3.1-8b', gpu: 'h100', replicas: 2, rateScale: 4, seed: 1 };
const policies = ['round-robin', 'inferstack', 'dynamo'];
const plain = (os: Awaited<ReturnType<typeof runPolicies>>) => os.map((o) => ({ policy: o.policy, report: o.report, ttft: [...o.ttftByRequest] }));

test('two workers give what one thread gives, call after call, on the same workers', async () => {
  const here = plain(await runPolicies(spec, policies, 1));
  const started = simulationWorkers(2);
  const first = plain(await runPolicies(spec, policies, 2));
  const second = plain(await runPolicies(spec, policies, 2));
  assert.deepEqual(first, here);
  assert.deepEqual(second, here);
  assert.ok(simulationWorkers(2).every((w, i) => w === started[i]), 'the workers were kept, not started again');
});

test('a run that fails rejects with its message, and the workers still serve the next call', async () => {
  await assert.rejects(runPolicies({ ...spec, trace: join(dir, 'missing.jsonl') }, policies, 2), /missing\.jsonl/);
  const outcomes = await runPolicies(spec, policies, 2);
  assert.deepEqual(outcomes.map((o) => o.policy), policies);
  assert.ok(outcomes.every((o) => o.report.ttft_ms.p50 > 0));
});

test('a batch of different specs and policies comes back in the order asked, as one thread gives it', async () => {
  const runs = [
    { spec, policy: 'inferstack' },
    { spec: { ...spec, rateScale: 8 }, policy: 'round-robin' },
    { spec: { ...spec, seed: 2 }, policy: 'dynamo' },
  ];
  const here = plain(await runSimulations(runs, 1));
  assert.deepEqual(plain(await runSimulations(runs, 2)), here);
  assert.deepEqual(here.map((o) => o.policy), ['inferstack', 'round-robin', 'dynamo']);
  assert.notDeepEqual(here[1]!.ttft, plain(await runPolicies(spec, ['round-robin'], 1))[0]!.ttft, 'the second run used its own spec');
});
