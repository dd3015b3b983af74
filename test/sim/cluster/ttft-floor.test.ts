// The TTFT floor: a request alone on an idle replica, with nothing / a cluster-sized LRU / an
// infinite cache in front of it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { ceilingHitRate } from '../../../src/bench/traces/ceiling.ts';
import { readTrace } from '../../../src/bench/traces/index.ts';
import type { StepBatch, StepTimeModel } from '../../../src/physics/types.ts';
import { idlePrefillSeconds, ttftFloor } from '../../../src/sim/cluster/ttft-floor.ts';
import { hashBlocks } from '../../../src/twin/core/block-hash.ts';
import { writeConversationTrace } from './fixtures.ts';

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
