import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler, policyNames } from '../../src/scheduler/index.ts';
import { endpoint, request } from './helpers.ts';

test('round-robin rotates over healthy endpoints serving the model', () => {
  const s = createScheduler('round-robin');
  const view = {
    endpoints: [endpoint('a'), endpoint('b', { healthy: false }), endpoint('c'), endpoint('d', { model: ['other'] })],
  };
  const picks = [0, 1, 2, 3].map((i) => s.schedule(request(`r${i}`), view, 0).endpoints[0]!.id);
  assert.deepEqual(picks, ['a', 'c', 'a', 'c']);
  const d = s.schedule(request('x'), view, 0);
  assert.deepEqual(d.endpoints.map((e) => e.id).sort(), ['a', 'c'], 'fallbacks cover every candidate once');
});

test('least-load picks the endpoint with fewest outstanding requests, counting both signals', () => {
  const s = createScheduler('least-load');
  const view = {
    endpoints: [
      endpoint('a', { inflight: { requests: 5, promptTokens: 0, predictedBlocks: 0 } }),
      endpoint('b', { metrics: { waiting: 1, running: 6, scrapedAt: 10 } }),
      endpoint('c', { inflight: { requests: 2, promptTokens: 0, predictedBlocks: 0 } }),
    ],
  };
  assert.equal(s.schedule(request('r'), view, 10).endpoints[0]!.id, 'c');
  // b's metrics are stale 3 s later: its reported load no longer counts, so b looks idle.
  assert.equal(s.schedule(request('r'), view, 13).endpoints[0]!.id, 'b');
});

test('no healthy endpoint -> reject no-healthy; all saturated -> reject saturated', () => {
  const s = createScheduler('least-load');
  assert.deepEqual(s.schedule(request('r'), { endpoints: [endpoint('a', { healthy: false })] }, 0), {
    endpoints: [],
    reject: 'no-healthy',
  });
  const busy = { endpoints: [endpoint('a', { metrics: { waiting: 5, scrapedAt: 0 } }), endpoint('b', { metrics: { kvUsage: 1, scrapedAt: 0 } })] };
  assert.equal(s.schedule(request('r'), busy, 0).reject, 'saturated');
  // By default only a full cache counts; llm-d's detector (KV 0.8) is a setting.
  const kv85 = { endpoints: [endpoint('b', { metrics: { kvUsage: 0.85, scrapedAt: 0 } })] };
  assert.equal(s.schedule(request('r'), kv85, 0).reject, undefined);
  assert.equal(createScheduler('least-load', { saturation: { queueDepth: 5, kvUsage: 0.8 } }).schedule(request('r'), kv85, 0).reject, 'saturated');
  // One endpoint under the thresholds is enough to admit.
  const one = { endpoints: [...busy.endpoints, endpoint('c', { metrics: { waiting: 4, kvUsage: 0.5, scrapedAt: 0 } })] };
  const admitted = s.schedule(request('r'), one, 0);
  assert.equal(admitted.reject, undefined);
  assert.equal(admitted.endpoints.length, 3);
  // Shedding can be disabled.
  const open = createScheduler('least-load', { saturation: null });
  assert.equal(open.schedule(request('r'), busy, 0).endpoints.length, 2);
});

test('saturation counts the requests sent since the last scrape as waiting, so a burst cannot pile past the threshold', () => {
  const s = createScheduler('least-load');
  const at = (sent: number) => ({ endpoints: [endpoint('a', { metrics: { waiting: 3, running: 10, scrapedAt: 0 }, inflight: { requests: sent, promptTokens: 0, predictedBlocks: 0 } })] });
  assert.equal(s.schedule(request('r'), at(14), 0).reject, undefined, '3 reported + 1 unreported = 4 waiting');
  assert.equal(s.schedule(request('r'), at(15), 0).reject, 'saturated', '3 reported + 2 unreported = 5 waiting');
  // Completions since the scrape make room again.
  assert.equal(s.schedule(request('r'), at(12), 0).reject, undefined);
});

test('same seed gives the same tie-breaks', () => {
  const view = { endpoints: ['a', 'b', 'c', 'd'].map((id) => endpoint(id)) };
  const run = (seed: number) => {
    const s = createScheduler('least-load', { seed });
    return Array.from({ length: 20 }, (_, i) => s.schedule(request(`r${i}`), view, 0).endpoints[0]!.id).join();
  };
  assert.equal(run(7), run(7));
  assert.notEqual(run(7), run(8));
});

test('unknown policy is a clear error', () => {
  assert.throws(() => createScheduler('nope'), /unknown scheduling policy 'nope'/);
  assert.ok(policyNames().includes('round-robin'));
});

test('prefill/decode: remote prefill only when uncached tokens reach the threshold', () => {
  const s = createScheduler('round-robin', { pd: { threshold: 16 } });
  const view = {
    endpoints: [endpoint('p1', { role: 'prefill' }), endpoint('d1', { role: 'decode' })],
  };
  const big = s.schedule(request('r', { promptTokens: 100 }), view, 0);
  assert.equal(big.endpoints[0]!.id, 'd1');
  assert.equal(big.prefill?.[0]?.id, 'p1');
  const small = s.schedule(request('r', { promptTokens: 10 }), view, 0);
  assert.equal(small.endpoints[0]!.id, 'd1');
  assert.equal(small.prefill, undefined);
});
