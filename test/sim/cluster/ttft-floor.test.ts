// The TTFT floor: a request alone on an idle replica, with nothing / a cluster-sized LRU / an
// infinite cache in front of it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { ceilingHitRate } from '../../../src/bench/traces/ceiling.ts';
import { readTrace } from '../../../src/bench/traces/index.ts';
import type { StepBatch, StepTimeModel } from '../../../src/physics/types.ts';
import { idlePrefillSeconds, loadedTtftFloor, ttftFloor } from '../../../src/sim/cluster/ttft-floor.ts';
import { hashBlocks } from '../../../src/twin/core/block-hash.ts';
import { writeConversationTrace } from './fixtures.ts';

const near = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);

/** 1 ms per step, 1 us per new token, 1 ns per (new token x token it attends to: cached + half the chunk). */
const attention = (tokens: number, cached: number) => tokens * (cached + tokens / 2) * 1e-9;
const linear: StepTimeModel = {
  stepSeconds: (b: StepBatch) => 1e-3 + b.prefill.reduce((s, p) => s + p.tokens * 1e-6 + attention(p.tokens, p.cachedContext), 0),
};

test('idle prefill: chunked at the step budget, each chunk over what came before; a full hit still computes one token', () => {
  // 20,000 tokens = chunks of 8192, 8192, 3616 over 0, 8192 and 16384 cached tokens.
  const expected = 3e-3 + 20_000e-6 + attention(8192, 0) + attention(8192, 8192) + attention(3616, 16384);
  assert.ok(Math.abs(idlePrefillSeconds(linear, 20_000, 0) - expected) < 1e-12);
  assert.ok(Math.abs(idlePrefillSeconds(linear, 20_000, 16_384) - (1e-3 + 3616e-6 + attention(3616, 16384))) < 1e-12);
  assert.ok(Math.abs(idlePrefillSeconds(linear, 1000, 5000) - (1e-3 + 1e-6 + attention(1, 999))) < 1e-12, 'cached capped at prompt - 1');
});

test('floors over a conversation trace: infinite cache = the ceiling hit rate, a small LRU keeps less, nothing cached keeps none', () => {
  const { path, dir } = writeConversationTrace({ conversations: 6, turns: 4, gapMs: 100 });
  try {
    const trace = readTrace(path, { seed: 1 });
    const keys = (r: (typeof trace.requests)[number]) => ({ keys: hashBlocks(r.tokenIds(), 16), blockTokens: 16 });
    const big = ttftFloor(trace.requests, { model: linear, blockSize: 16, lruTokens: 1e9, blockKeys: keys });
    const small = ttftFloor(trace.requests, { model: linear, blockSize: 16, lruTokens: 4 * 512, blockKeys: keys });
    assert.equal(big.uncached.hitRate, 0);
    assert.ok(Math.abs(big.infiniteCache.hitRate - ceilingHitRate(trace.requests, 16)) < 1e-12);
    assert.equal(big.clusterLru.hitRate, big.infiniteCache.hitRate, 'an LRU larger than the trace is an infinite cache');
    assert.ok(small.clusterLru.hitRate > 0 && small.clusterLru.hitRate < big.infiniteCache.hitRate);
    assert.ok(big.infiniteCache.ttftMs.p90 < big.uncached.ttftMs.p90);
    assert.ok(small.clusterLru.ttftMs.mean > big.infiniteCache.ttftMs.mean && small.clusterLru.ttftMs.mean < big.uncached.ttftMs.mean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loaded floor: decodes from Little\'s law, one and a half decode steps, then the prefill beside them', () => {
  // 1 ms a step, 0.1 ms per running decode, 1 us per prefill token.
  const decodeBound: StepTimeModel = { stepSeconds: (b) => 1e-3 + 1e-4 * b.decode.length + 1e-6 * b.prefill.reduce((s, p) => s + p.tokens, 0) };
  const at10PerSecond = (promptTokens: number, outputTokens: number) => Array.from({ length: 101 }, (_, i) => ({ arrival: i / 10, promptTokens, outputTokens }));
  // 10 req/s x 500 tokens x (1 ms + 0.1 ms x n) = n at n = 10: a 2 ms decode step.
  const f = loadedTtftFloor(at10PerSecond(1000, 500), { model: decodeBound, replicas: 1, rateScale: 1 });
  assert.equal(f.decodesPerReplica, 10);
  near(f.decodeStepMs, 2, 1e-9);
  near(f.ttftMs.p50, 1.5 * 2 + (1 + 1 + 1), 1e-9);
  // A 10,000-token prompt takes two chunks of the budget less the 10 decodes: 8,182 and 1,818 tokens.
  near(loadedTtftFloor(at10PerSecond(10_000, 500), { model: decodeBound, replicas: 1, rateScale: 1 }).ttftMs.p50, 3 + (2 + 8.182) + (2 + 1.818), 1e-9);
  // Twice the rate over two replicas is the same load per replica.
  assert.equal(loadedTtftFloor(at10PerSecond(1000, 500), { model: decodeBound, replicas: 2, rateScale: 2 }).decodesPerReplica, 10);
  // Past what the replica can decode, the batch is the engine's limit.
  assert.equal(loadedTtftFloor(at10PerSecond(1000, 1000), { model: decodeBound, replicas: 1, rateScale: 1 }).decodesPerReplica, 256);
  assert.throws(() => loadedTtftFloor(at10PerSecond(1, 1).slice(0, 1), { model: decodeBound, replicas: 1, rateScale: 1 }), RangeError);
});
