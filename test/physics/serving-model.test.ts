import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDeployment } from '../../src/physics/deployment.ts';
import { estimateAtConcurrency, estimateAtRate, estimateMaxThroughput, maxRunning } from '../../src/physics/serving-model.ts';

const nim = resolveDeployment({ model: 'llama-3.3-70b', gpu: 'h100', tp: 2, dtype: 'fp8', kvDtype: 'fp8', engine: 'trtllm' });
const w = { isl: 5000, osl: 500 };

test('closed loop: the KV cache caps the batch and TTFT jumps once clients queue (the NIM knee)', () => {
  const max = maxRunning(nim, w.isl, w.osl);
  assert.equal(max.by, 'kv-cache');
  assert.ok(max.n > 50 && max.n < 100, `${max.n}`);
  const at50 = estimateAtConcurrency(nim, { ...w, concurrency: 50 });
  const at100 = estimateAtConcurrency(nim, { ...w, concurrency: 100 });
  const at250 = estimateAtConcurrency(nim, { ...w, concurrency: 250 });
  assert.equal(at50.queued, 0);
  assert.ok(at100.queued > 0);
  assert.ok(at100.ttftSec > 5 * at50.ttftSec);
  assert.ok(at250.ttftSec > 5 * at100.ttftSec);
  // Past the knee the engine is full: throughput and TPOT stop changing.
  assert.ok(Math.abs(at250.outputTokS - at100.outputTokS) / at100.outputTokS < 1e-6);
  assert.ok(at100.outputTokS > at50.outputTokS);
});

test('TPOT and throughput grow with concurrency below the knee; TTFT at concurrency 1 is one prefill', () => {
  const points = [1, 5, 25, 50].map((concurrency) => estimateAtConcurrency(nim, { ...w, concurrency }));
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i]!.tpotSec > points[i - 1]!.tpotSec);
    assert.ok(points[i]!.outputTokS > points[i - 1]!.outputTokS);
  }
  const prefill = nim.stepTime.stepSeconds({ prefill: [{ tokens: 5000, cachedContext: 0 }], decode: [] });
  assert.ok(points[0]!.ttftSec >= prefill && points[0]!.ttftSec < prefill * 1.2);
});

test('max throughput is the unlimited-rate point and beats any finite concurrency', () => {
  const dep = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', dtype: 'fp8', kvDtype: 'fp8', engine: 'trtllm' });
  const max = estimateMaxThroughput(dep, { isl: 1000, osl: 1000 });
  for (const concurrency of [16, 128, 512]) {
    assert.ok(estimateAtConcurrency(dep, { isl: 1000, osl: 1000, concurrency }).outputTokS <= max.outputTokS * 1.0001);
  }
  assert.equal(max.running, max.maxRunning);
});

test('open loop: latency grows with rate, and a rate past capacity is reported saturated', () => {
  const dep = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' });
  const max = estimateMaxThroughput(dep, { isl: 1000, osl: 200 });
  const low = estimateAtRate(dep, { isl: 1000, osl: 200, rate: max.requestsPerSec * 0.1 });
  const high = estimateAtRate(dep, { isl: 1000, osl: 200, rate: max.requestsPerSec * 0.8 });
  assert.ok(Math.abs(low.requestsPerSec / (max.requestsPerSec * 0.1) - 1) < 0.01);
  assert.ok(high.tpotSec > low.tpotSec);
  assert.ok(high.ttftSec > low.ttftSec);
  assert.equal(low.saturated, false);
  const over = estimateAtRate(dep, { isl: 1000, osl: 200, rate: max.requestsPerSec * 1.5 });
  assert.equal(over.saturated, true);
  assert.equal(over.ttftSec, Infinity);
});

test('bad workloads are rejected with a clear error', () => {
  const dep = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' });
  assert.throws(() => estimateAtConcurrency(dep, { isl: 0, osl: 10, concurrency: 1 }), /isl must be a positive integer/);
  assert.throws(() => estimateAtConcurrency(dep, { isl: 10, osl: 10, concurrency: 0 }), /concurrency must be at least 1/);
  assert.throws(() => estimateAtRate(dep, { isl: 10, osl: 10, rate: -1 }), /rate must be a positive number/);
  assert.throws(() => estimateAtConcurrency(dep, { isl: 2_000_000, osl: 10, concurrency: 1 }), /isl \+ osl = 2000010 tokens exceeds llama-3.1-8b's context of 131072 tokens/);
  const tight = resolveDeployment({ model: 'llama-3.1-70b', gpu: 'h100', tp: 2 }); // about 1,200 tokens of KV left
  assert.throws(() => estimateAtConcurrency(tight, { isl: 2000, osl: 10, concurrency: 1 }), /does not fit in the KV cache/);
});

test('prefill-only requests (OSL 1): TTFT is one prefill alone and grows with the prompts queued in the budget', () => {
  const dep = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' });
  const one = estimateAtConcurrency(dep, { isl: 1000, osl: 1, concurrency: 1 });
  const prefill = dep.stepTime.stepSeconds({ prefill: [{ tokens: 1000, cachedContext: 0 }], decode: [] });
  assert.ok(Math.abs(one.ttftSec - prefill) < 1e-12);
  assert.equal(one.tpotSec, 0);
  const many = estimateAtConcurrency(dep, { isl: 1000, osl: 1, concurrency: 64 });
  assert.ok(many.ttftSec > 5 * one.ttftSec);
  assert.ok(many.inputTokS > one.inputTokS);
});
