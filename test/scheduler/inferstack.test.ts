// inferstack: TTFT prediction from the step-time model, cache affinity without hot-spotting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PreciseIndex } from '../../src/kv/precise-index.ts';
import { resolveDeployment } from '../../src/physics/deployment.ts';
import { createScheduler } from '../../src/scheduler/index.ts';
import { MAX_SHARING, SHARED_STEP_CHANCE, TtftPredictor } from '../../src/scheduler/ttft-predictor.ts';
import { idlePrefillSeconds } from '../../src/sim/cluster/ttft-floor.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { endpoint, request } from './helpers.ts';

const stepTime = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' }).stepTime;
const tokens = Array.from({ length: 8192 }, (_, i) => (i * 31) % 30_000);
const keys = hashBlocks(tokens, 16);
const ep = (id: string, pendingPrefillTokens: number, requests = 1) =>
  endpoint(id, {
    metrics: { blockSize: 16, numGpuBlocks: 26_000, waiting: 0, running: requests, kvUsage: 0.2, scrapedAt: 0 },
    inflight: { requests, promptTokens: pendingPrefillTokens, predictedBlocks: 100, pendingPrefillTokens },
  });

test('predictor: queued prefill and uncached tokens raise the TTFT, cached tokens lower it', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 8192, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  const idle = p.predict(ep('a', 0), x, 0).seconds;
  assert.ok(idle > 0.05 && idle < 2, `8k-token prefill on an idle H100: ${idle} s`);
  assert.ok(p.predict(ep('a', 50_000), x, 0).seconds > idle * 3);
  assert.ok(p.predict(ep('a', 0), { ...x, cachedTokens: 7680 }, 0).seconds < idle / 4);
  // Without a step-time model the same shape holds (token-count fallback).
  const f = new TtftPredictor();
  assert.ok(f.predict(ep('a', 50_000), x, 0).seconds > f.predict(ep('a', 0), x, 0).seconds);
});

test('predictor: on an idle endpoint, the own prefill is the idle-replica floor, chunk by chunk', () => {
  // Each chunk attends over the cached prefix and the chunks before it, no more (a chunk priced
  // over an average context would count half the prompt twice).
  const p = new TtftPredictor(stepTime);
  const idle = endpoint('a', {
    metrics: { blockSize: 16, numGpuBlocks: 26_000, waiting: 0, running: 0, kvUsage: 0, scrapedAt: 0 },
    inflight: { requests: 0, promptTokens: 0, predictedBlocks: 0, pendingPrefillTokens: 0 },
  });
  for (const [promptTokens, cachedTokens] of [[1000, 0], [8192, 0], [20_000, 0], [20_000, 4096], [40_000, 30_000]] as const) {
    const predicted = p.predict(idle, { promptTokens, cachedTokens, maxTokens: 100, blockSize: 16 }, 0);
    const floor = idlePrefillSeconds(stepTime, promptTokens, cachedTokens);
    assert.ok(Math.abs(predicted.ownPrefillSeconds - floor) < 1e-12, `${promptTokens}/${cachedTokens}: ${predicted.ownPrefillSeconds} vs ${floor}`);
    assert.equal(predicted.seconds, predicted.ownPrefillSeconds);
  }
});

test('predictor: a busy engine first runs the step it already planned (async scheduling); an idle one does not', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 1000, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  const busy = p.predict(ep('a', 0, 32), x, 0);
  // 32 running sequences holding 20 % of 26,000 blocks of 16 tokens: 2,600 tokens of context each.
  const decodeStep = stepTime.stepSeconds({ prefill: [], decode: Array.from({ length: 32 }, () => ({ contextLength: 2600 })) });
  assert.ok(Math.abs(busy.seconds - busy.ownPrefillSeconds - decodeStep) < 1e-12, `${busy.seconds - busy.ownPrefillSeconds} vs ${decodeStep}`);
});

test('predictor: a request sent where prefills wait delays them (they may share its step), half its prefill each, at most 8', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 1000, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  const waiting = (n: number) => {
    const e = ep('a', 1000 * n, n);
    e.inflight.pendingPrefillRequests = n;
    return p.predict(e, x, 0);
  };
  assert.equal(waiting(0).sharedStepDelaySeconds, 0);
  for (const n of [1, 3, 8]) {
    const r = waiting(n);
    assert.ok(Math.abs(r.sharedStepDelaySeconds - SHARED_STEP_CHANCE * n * r.ownPrefillSeconds) < 1e-12, `${n} waiting: ${r.sharedStepDelaySeconds}`);
  }
  const many = waiting(20);
  assert.ok(Math.abs(many.sharedStepDelaySeconds - SHARED_STEP_CHANCE * MAX_SHARING * many.ownPrefillSeconds) < 1e-12, 'capped');
  assert.equal(p.predict(ep('b', 3000, 3), x, 0).sharedStepDelaySeconds, 0, 'no count of waiting prefills: nothing priced');
});

test('inferstack: of two endpoints with about the same prefill waiting, the one where fewer requests wait for it', () => {
  // About 4,000 pending tokens each: four prefills, each delayed by the new request if they share a
  // step, or one. The four have 100 tokens less queued, which alone would decide for them.
  const s = createScheduler('inferstack', { stepTime, seed: 1, saturation: null });
  const four = ep('four', 3900, 4);
  four.inflight.pendingPrefillRequests = 4;
  const one = ep('one', 4000, 4);
  one.inflight.pendingPrefillRequests = 1;
  const d = s.schedule(request('r', { promptTokenIds: tokens.slice(0, 1000), promptTokens: 1000, maxTokens: 50 }), { endpoints: [four, one] }, 0);
  assert.equal(d.endpoints[0]!.id, 'one');
});

test('predictor: running decodes are priced over the KV they hold (prompt and output so far), not over their prompts', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 1000, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  // The same 64 requests with 500-token prompts, early in their outputs and late in long ones.
  const at = (kvUsage: number) =>
    p.predict(endpoint('a', { metrics: { blockSize: 16, numGpuBlocks: 26_000, waiting: 0, running: 64, kvUsage, scrapedAt: 0 }, inflight: { requests: 64, promptTokens: 64 * 500, predictedBlocks: 0, pendingPrefillTokens: 0 } }), x, 0);
  const early = at(0.08); // 520 tokens each
  const late = at(0.5); // 3,250 tokens each
  assert.ok(late.plannedStepSeconds > early.plannedStepSeconds * 1.2, `${late.plannedStepSeconds} vs ${early.plannedStepSeconds}`);
  assert.ok(late.ownPrefillSeconds > early.ownPrefillSeconds);
  // Without a scraped KV usage the prompts stand in.
  const unscraped = p.predict(endpoint('a', { metrics: { blockSize: 16, numGpuBlocks: 26_000, scrapedAt: 0 }, inflight: { requests: 64, promptTokens: 64 * 500, predictedBlocks: 0, pendingPrefillTokens: 0 } }), x, 0);
  const promptStep = stepTime.stepSeconds({ prefill: [], decode: Array.from({ length: 64 }, () => ({ contextLength: 500 })) });
  assert.ok(Math.abs(unscraped.plannedStepSeconds - promptStep) < 1e-12);
});

test('predictor: the virtual backlog does not drain while the step already planned runs', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 1000, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  const busy = ep('a', 100_000, 32); // 100k pending tokens: more than the backlog's 0.5 s, so the backlog counts
  p.commit('a', 0, 0.5, 0.02);
  const queueAt = (t: number) => {
    const r = p.predict(busy, x, t);
    return r.seconds - r.ownPrefillSeconds - r.plannedStepSeconds; // no memory wait at 20 % KV use
  };
  assert.ok(Math.abs(queueAt(0.01) - 0.5) < 1e-9, 'not drained during the planned step');
  assert.ok(Math.abs(queueAt(0.12) - 0.4) < 1e-9, 'drains after it');
});

test('predictor: a memory wait only when the blocks in use plus the queued prompts overflow the cache, not for promised output', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 8000, cachedTokens: 0, maxTokens: 2000, blockSize: 16 };
  const withUsage = (kvUsage: number | undefined, predictedBlocks: number, pendingPrefillTokens = 0) =>
    endpoint('a', {
      metrics: { blockSize: 16, numGpuBlocks: 26_000, waiting: 0, running: 100, kvUsage, scrapedAt: 0 },
      inflight: { requests: 100, promptTokens: 100_000, predictedBlocks, pendingPrefillTokens },
    });
  // Running requests have promised 2x the cache (their whole outputs) but hold half of it now: no wait.
  const halfFull = p.predict(withUsage(0.5, 52_000), x, 0);
  assert.ok(halfFull.kvPressure < 1, `pressure ${halfFull.kvPressure}`);
  assert.equal(halfFull.seconds, p.predict(withUsage(0.5, 0), x, 0).seconds);
  // Nearly full, or prompts queued there that fill it: the request waits for decodes to free blocks.
  assert.ok(p.predict(withUsage(0.99, 0), x, 0).kvPressure > 1);
  assert.ok(p.predict(withUsage(0.5, 0, 210_000), x, 0).kvPressure > 1);
  // No usage metric (never scraped): the promised blocks stand in.
  assert.ok(p.predict(withUsage(undefined, 52_000), x, 0).kvPressure > 1);
});

test('predictor: the virtual backlog drains with time, so a long prefill sent earlier stops counting in full', () => {
  const p = new TtftPredictor(stepTime);
  const x = { promptTokens: 1000, cachedTokens: 0, maxTokens: 100, blockSize: 16 };
  const busy = ep('a', 100_000);
  p.commit('a', 0, 3); // 3 s of prefill sent at t=0
  const early = p.predict(busy, x, 0.5).seconds;
  const late = p.predict(busy, x, 2.9).seconds;
  assert.ok(late < early, `${late} < ${early}`);
});

test('inferstack prefers the endpoint holding the prefix when loads are equal', () => {
  const index = new PreciseIndex();
  index.applyEvent('b', { type: 'BlockStored', blockHashes: keys, parentBlockHash: null, tokenIds: tokens, blockSize: 16 });
  const s = createScheduler('inferstack', { preciseIndex: index, stepTime, seed: 3 });
  const d = s.schedule(request('r', { promptTokenIds: tokens, promptTokens: tokens.length, maxTokens: 100 }), { endpoints: [ep('a', 0), ep('b', 0), ep('c', 0)] }, 0);
  assert.equal(d.endpoints[0]!.id, 'b');
  assert.equal(d.predictedCachedTokens, 8192 - 16 * 0, 'reports what it assumed cached');
  // ... and the TTFT it predicted there, the same number the predictor gives for that endpoint.
  const expected = new TtftPredictor(stepTime).predict(ep('b', 0), { promptTokens: 8192, cachedTokens: 8192, maxTokens: 100, blockSize: 16 }, 0).seconds;
  assert.equal(d.predictedTtftSeconds, expected);
  // Without a step-time model the ranking units are not seconds, and policies that do not predict report nothing.
  assert.equal(createScheduler('inferstack', { preciseIndex: index }).schedule(request('r', { promptTokenIds: tokens, promptTokens: tokens.length }), { endpoints: [ep('a', 0)] }, 0).predictedTtftSeconds, undefined);
  assert.equal(createScheduler('dynamo', { preciseIndex: index }).schedule(request('r', { promptTokenIds: tokens, promptTokens: tokens.length }), { endpoints: [ep('a', 0)] }, 0).predictedTtftSeconds, undefined);
});

test('inferstack leaves the cached endpoint when its queue costs more than the hit saves', () => {
  const index = new PreciseIndex();
  index.applyEvent('b', { type: 'BlockStored', blockHashes: keys, parentBlockHash: null, tokenIds: tokens, blockSize: 16 });
  const s = createScheduler('inferstack', { preciseIndex: index, stepTime, seed: 3 });
  const view = { endpoints: [ep('a', 0), ep('b', 400_000)] };
  assert.equal(s.schedule(request('r', { promptTokenIds: tokens, promptTokens: tokens.length, maxTokens: 100 }), view, 0).endpoints[0]!.id, 'a');
});

test('inferstack spreads a burst of uncached requests instead of piling onto one endpoint', () => {
  const s = createScheduler('inferstack', { stepTime, seed: 1, saturation: null });
  const eps = ['a', 'b', 'c', 'd'].map((id) => ep(id, 0, 0));
  const counts = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const ids = Array.from({ length: 4000 }, (_, k) => (i * 7919 + k * 13) % 30_000);
    const d = s.schedule(request(`r${i}`, { promptTokenIds: ids, promptTokens: ids.length, maxTokens: 50 }), { endpoints: eps }, 0);
    const chosen = eps.find((e) => e.id === d.endpoints[0]!.id)!;
    chosen.inflight.requests++;
    chosen.inflight.pendingPrefillTokens! += ids.length - (d.predictedCachedTokens ?? 0);
    counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()].sort(), [10, 10, 10, 10]);
});

test('inferstack under P/D: decode by memory load, prefill by predicted TTFT', () => {
  const s = createScheduler('inferstack', { stepTime, pd: { threshold: 16 }, seed: 2 });
  const mk = (id: string, role: 'prefill' | 'decode', pending: number, blocks: number) => {
    const e = ep(id, pending);
    e.role = role;
    e.inflight.predictedBlocks = blocks;
    return e;
  };
  const view = { endpoints: [mk('p1', 'prefill', 50_000, 0), mk('p2', 'prefill', 0, 0), mk('d1', 'decode', 0, 9000), mk('d2', 'decode', 0, 100)] };
  const d = s.schedule(request('r', { promptTokenIds: tokens, promptTokens: tokens.length, maxTokens: 100 }), view, 0);
  assert.equal(d.endpoints[0]!.id, 'd2');
  assert.equal(d.prefill?.[0]?.id, 'p2');
  // The prediction is the prefill leg's; the client's first token also waits for the transfer and
  // the decode side, so a disaggregated decision reports none.
  assert.equal(d.predictedTtftSeconds, undefined);
});

test('inferstack warms a cold endpoint: a prefix every other endpoint holds earns no stickiness', () => {
  const index = new PreciseIndex();
  const system = tokens.slice(0, 512); // the shared system prompt, cached on a, b and c
  for (const id of ['a', 'b', 'c']) index.applyEvent(id, { type: 'BlockStored', blockHashes: keys.slice(0, 32), parentBlockHash: null, tokenIds: system, blockSize: 16 });
  const s = createScheduler('inferstack', { preciseIndex: index, stepTime, seed: 3 });
  const ids = [...system, ...Array.from({ length: 7680 }, (_, i) => (i * 7) % 30_000)];
  // a, b and c have a little prefill queued; d is idle but lacks the system prompt.
  const view = { endpoints: [ep('a', 3000), ep('b', 3000), ep('c', 3000), ep('d', 0)] };
  assert.equal(s.schedule(request('r', { promptTokenIds: ids, promptTokens: ids.length, maxTokens: 100 }), view, 0).endpoints[0]!.id, 'd');
});
