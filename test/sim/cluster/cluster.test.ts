import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { readTrace } from '../../../src/bench/traces/index.ts';
import { resolveDeployment } from '../../../src/physics/deployment.ts';
import { runCluster, splitRoles } from '../../../src/sim/cluster/cluster.ts';
import { EventQueue } from '../../../src/sim/cluster/event-queue.ts';
import { formatTtftPredictions, formatTtftTail, toDetails, toReport } from '../../../src/sim/cluster/report.ts';
import { writeConversationTrace } from './fixtures.ts';

const { path, dir } = writeConversationTrace({ conversations: 13, turns: 5, gapMs: 150 });
after(() => rmSync(dir, { recursive: true, force: true }));
const trace = readTrace(path, { jitterSlotSeconds: 0 });
const deployment = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' });
const run = (policy: string, extra: Partial<Parameters<typeof runCluster>[0]> = {}) =>
  runCluster({ requests: trace.requests, deployment, modelName: 'llama-3.1-8b', replicas: 4, policy, ...extra });

test('event queue runs in time order, ties in insertion order, never into the past', () => {
  const q = new EventQueue();
  const seen: string[] = [];
  q.at(2, () => seen.push('c'));
  q.at(1, () => seen.push('a'));
  q.at(1, () => {
    seen.push('b');
    q.at(0, () => seen.push('late')); // clamped to now
  });
  while (q.step());
  assert.deepEqual(seen, ['a', 'b', 'late', 'c']);
});

test('every request completes or is shed, and a run is deterministic', () => {
  const a = run('round-robin');
  assert.equal(a.completed + a.shed + a.failed, trace.requests.length);
  assert.equal(a.completed, trace.requests.length);
  assert.equal(a.ttft.count, a.completed);
  assert.ok(a.outputTokens > 0 && a.itl.count > 0);
  const b = run('round-robin');
  assert.deepEqual(toReport(a, 0), toReport(b, 0));
});

test("inferstack's TTFT predictions are checked against the simulated TTFTs; alone on an idle replica they are exact", () => {
  const r = run('inferstack');
  assert.equal(r.ttftPredictionError.count, r.completed, 'one check per request');
  const roundRobin = run('round-robin');
  assert.equal(roundRobin.ttftPredictionError.count, 0, 'round-robin predicts nothing');
  // Requests 2 s apart on 4 replicas each find an idle engine: the prediction is its own prefill,
  // priced chunk by chunk with the step-time model the twin then runs it with.
  const spaced = trace.requests.slice(0, 12).map((q, i) => ({ ...q, arrival: 2 * i }));
  const alone = runCluster({ requests: spaced, deployment, modelName: 'llama-3.1-8b', replicas: 4, policy: 'inferstack' });
  const errors = [...alone.ttftPredictionError.values()];
  assert.equal(errors.length, 12);
  for (const e of errors) assert.ok(Math.abs(e) < 1e-3, `simulated - predicted ${(e * 1000).toFixed(1)} ms`);
  const details = toDetails(alone, 0);
  assert.equal(details.ttftPrediction!.requests, 12);
  assert.ok(details.ttftPrediction!.medianAbsErrorMs < 1);
  assert.match(formatTtftPredictions([{ policy: 'inferstack', details }, { policy: 'round-robin', details: toDetails(roundRobin, 0) }]), /^inferstack's TTFT prediction .*12 requests: median \|error\| \d+ ms; simulated - predicted p10\/p50\/p90 -?\d+\/-?\d+\/-?\d+ ms\n$/);
});

test('prefix-aware policies beat round-robin on hit rate for multi-turn conversations', () => {
  const rr = toReport(run('round-robin'), 0).prefix_hit_rate;
  for (const p of ['llm-d', 'llm-d-precise', 'dynamo', 'sglang', 'inferstack']) {
    const hit = toReport(run(p), 0).prefix_hit_rate;
    assert.ok(hit > rr + 0.1, `${p} hit ${hit.toFixed(3)} vs round-robin ${rr.toFixed(3)}`);
  }
});

test('overload: requests wait in the admission queue, are shed when it is full or their wait times out, never lost', () => {
  const overload = { rateScale: 20, replicas: 2 };
  const atOnce = run('least-load', { ...overload, admission: { size: 0, timeoutSeconds: 30 } });
  assert.ok(atOnce.shed > 0, 'no queue: some shed');
  assert.equal(atOnce.completed + atOnce.shed + atOnce.failed, trace.requests.length);
  // The gateway's default queue holds them instead; their wait counts in their TTFT.
  const queued = run('least-load', overload);
  assert.equal(queued.shed, 0);
  assert.equal(queued.completed, trace.requests.length);
  assert.ok(queued.ttft.summary().p99 > atOnce.ttft.summary().p99, `queued p99 ${queued.ttft.summary().p99} vs ${atOnce.ttft.summary().p99}`);
  const small = run('least-load', { ...overload, admission: { size: 2, timeoutSeconds: 30 } });
  assert.ok(small.shed > 0 && small.shed < atOnce.shed, `a 2-deep queue sheds fewer (${small.shed}) than none (${atOnce.shed})`);
  const impatient = run('least-load', { ...overload, admission: { size: 1024, timeoutSeconds: 0.02 } });
  assert.ok(impatient.shed > 0, 'waits past 20 ms time out');
  assert.equal(impatient.completed + impatient.shed + impatient.failed, trace.requests.length);
  // With the saturation check off, nothing waits at the gateway and nothing is shed.
  const open = run('least-load', { ...overload, saturation: null });
  assert.equal(open.shed, 0);
  assert.equal(open.completed, trace.requests.length);
});

test('engine limits: a replica runs at most maxNumSeqs requests at once', () => {
  const burst = trace.requests.slice(0, 6).map((r) => ({ ...r, arrival: 0 }));
  const spans: Array<[number, number]> = [];
  runCluster({
    requests: burst, deployment, modelName: 'llama-3.1-8b', replicas: 1, policy: 'round-robin', saturation: null,
    engine: { maxNumSeqs: 2, maxNumBatchedTokens: 512 },
    onRequestDone: (r) => spans.push([r.ttft, r.e2e]),
  });
  assert.equal(spans.length, 6);
  // A request holds its slot from its first token to its end; at no moment are three inside.
  for (const [start] of spans) assert.ok(spans.filter(([s, e]) => s <= start && start < e).length <= 2, `three running at ${start}`);
  const unlimited: number[] = [];
  runCluster({ requests: burst, deployment, modelName: 'llama-3.1-8b', replicas: 1, policy: 'round-robin', saturation: null, onRequestDone: (r) => unlimited.push(r.e2e) });
  assert.ok(Math.max(...spans.map(([, e]) => e)) > 1.5 * Math.max(...unlimited), 'two at a time takes longer than all at once');
});

test('prefill/decode: prefill replicas prefill, decode replicas decode, all complete', () => {
  assert.deepEqual(splitRoles(4, { prefill: 1, decode: 3 }), ['prefill', 'decode', 'decode', 'decode']);
  assert.deepEqual(splitRoles(2, { prefill: 9, decode: 1 }), ['prefill', 'decode']);
  const r = run('inferstack', { pd: { prefill: 1, decode: 1 }, saturation: null });
  assert.equal(r.completed, trace.requests.length);
  assert.deepEqual(r.roles, ['prefill', 'prefill', 'decode', 'decode']);
  // Every request above the threshold (all of them: prompts are > 900 tokens) ran on one replica of each role.
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(sum(r.requestsPerReplica.slice(0, 2)), trace.requests.length);
  assert.equal(sum(r.requestsPerReplica.slice(2)), trace.requests.length);
  const agg = run('inferstack', { saturation: null });
  // TTFT under P/D includes the KV transfer, so it cannot beat an idle aggregated replica by much;
  // it must stay within the same order of magnitude (the transfer is milliseconds).
  assert.ok(r.ttft.summary().p50 < agg.ttft.summary().p50 * 5);
});

test('the TTFT tail: share of served requests over each threshold and the sum of TTFTs, shed requests left out', () => {
  const even = Float64Array.from([0.8, 0.8, 0.8, 0.8]); // everyone waits a little
  const starved = Float64Array.from([0.1, 0.1, 0.1, 6, Number.NaN]); // one waits long, one was shed
  const text = formatTtftTail([{ policy: 'even', ttftByRequest: even }, { policy: 'starved', ttftByRequest: starved }]);
  assert.deepEqual(text.split('\n'), [
    'TTFT tail: share of requests over 0.5 / 1 / 2 / 5 s; the sum of all TTFTs:',
    '  even     100.0% / 0.0% / 0.0% / 0.0%; 3 s',
    '  starved  25.0% / 25.0% / 25.0% / 25.0%; 6 s',
    '',
  ]);
  assert.equal(formatTtftTail([{ policy: 'alone', ttftByRequest: even }]), '');
});
