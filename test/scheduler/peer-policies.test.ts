// The peers' policies, each checked against the behaviour its documentation describes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PreciseIndex } from '../../src/kv/precise-index.ts';
import { createScheduler } from '../../src/scheduler/index.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { endpoint, request } from './helpers.ts';

const ids = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => (seed * 1000 + i) % 30000);

test('llm-d: learns from its own decisions and sends a repeated prefix back to the same endpoint', () => {
  const s = createScheduler('llm-d', { seed: 3 });
  const view = { endpoints: ['a', 'b', 'c', 'd'].map((id) => endpoint(id, { metrics: { waiting: 0, kvUsage: 0.1, scrapedAt: 0 } })) };
  const text = 'You are a helpful assistant. '.repeat(40);
  const first = s.schedule(request('1', { promptText: text + 'question one' }), view, 0).endpoints[0]!.id;
  for (let i = 2; i < 8; i++) {
    assert.equal(s.schedule(request(String(i), { promptText: text + `question ${i}` }), view, 0).endpoints[0]!.id, first);
  }
});

test('llm-d: a long queue outweighs a partial prefix match (queue 2 + kv 2 vs prefix 3)', () => {
  const s = createScheduler('llm-d', { seed: 3 });
  const text = 'x'.repeat(64 * 10);
  const idle = { endpoints: [endpoint('a', { metrics: { waiting: 0, kvUsage: 0, scrapedAt: 0 } }), endpoint('b', { metrics: { waiting: 0, kvUsage: 0, scrapedAt: 0 } })] };
  const home = s.schedule(request('1', { promptText: text }), idle, 0).endpoints[0]!.id;
  const other = home === 'a' ? 'b' : 'a';
  // Same 10 blocks + 10 new ones: prefix score 0.5 on home (1.5 points); home is fully busy
  // (queue 0 points, kv 0 points) while the other is idle (4 points).
  const busy = {
    endpoints: [
      endpoint(home, { metrics: { waiting: 20, kvUsage: 1, scrapedAt: 1 } }),
      endpoint(other, { metrics: { waiting: 0, kvUsage: 0, scrapedAt: 1 } }),
    ],
  };
  assert.equal(s.schedule(request('2', { promptText: text + 'y'.repeat(640) }), busy, 1).endpoints[0]!.id, other);
});

test('llm-d: cache_salt isolates prefixes', () => {
  const s = createScheduler('llm-d', { seed: 5 });
  const view = { endpoints: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => endpoint(id)) };
  const text = 'shared system prompt '.repeat(50);
  const home = s.schedule(request('1', { promptText: text, cacheSalt: 's1' }), view, 0).endpoints[0]!.id;
  const picks = new Set<string>();
  for (let i = 0; i < 12; i++) picks.add(s.schedule(request(`x${i}`, { promptText: text, cacheSalt: `other-${i}` }), view, 0).endpoints[0]!.id);
  assert.ok(picks.size > 1, 'different salts do not all chase the salted prefix');
  assert.equal(s.schedule(request('2', { promptText: text, cacheSalt: 's1' }), view, 0).endpoints[0]!.id, home);
});

test('llm-d-precise: follows KV events, not its own guesses', () => {
  const index = new PreciseIndex();
  const s = createScheduler('llm-d-precise', { preciseIndex: index, seed: 1 });
  const viewAt = (t: number) => ({ endpoints: ['a', 'b', 'c'].map((id) => endpoint(id, { metrics: { blockSize: 16, waiting: 0, kvUsage: 0.2, scrapedAt: t } })) });
  const tokens = ids(160);
  const keys = hashBlocks(tokens, 16);
  index.applyEvent('c', { type: 'BlockStored', blockHashes: keys, parentBlockHash: null, tokenIds: tokens, blockSize: 16 });
  assert.equal(s.schedule(request('1', { promptTokenIds: tokens, promptTokens: 160 }), viewAt(0), 0).endpoints[0]!.id, 'c');
  index.applyEvent('c', { type: 'AllBlocksCleared' });
  index.applyEvent('b', { type: 'BlockStored', blockHashes: keys, parentBlockHash: null, tokenIds: tokens, blockSize: 16 });
  // c still has a speculative entry from the decision until its TTL (2 s) runs out.
  assert.equal(s.schedule(request('2', { promptTokenIds: tokens, promptTokens: 160 }), viewAt(5), 5).endpoints[0]!.id, 'b');
});

test('dynamo: cost = prefill blocks + decode blocks; overlap beats a small decode load, ties go to the first', () => {
  const index = new PreciseIndex();
  const s = createScheduler('dynamo', { preciseIndex: index, saturation: null });
  const tokens = ids(320);
  const keys = hashBlocks(tokens, 16);
  index.applyEvent('b', { type: 'BlockStored', blockHashes: keys.slice(0, 15), parentBlockHash: null, tokenIds: tokens.slice(0, 240), blockSize: 16 });
  const mk = (id: string, predictedBlocks: number) => endpoint(id, { metrics: { blockSize: 16 }, inflight: { requests: 1, promptTokens: 0, predictedBlocks } });
  // a: 20 prefill + 5 decode = 25; b: 5 prefill + 12 decode = 17 -> b.
  assert.equal(s.schedule(request('1', { promptTokenIds: tokens, promptTokens: 320 }), { endpoints: [mk('a', 5), mk('b', 12)] }, 0).endpoints[0]!.id, 'b');
  // b: 5 + 30 = 35 > a: 25 -> a.
  assert.equal(s.schedule(request('2', { promptTokenIds: tokens, promptTokens: 320 }), { endpoints: [mk('a', 5), mk('b', 30)] }, 10).endpoints[0]!.id, 'a');
  const fresh = ids(64, 7);
  assert.equal(s.schedule(request('3', { promptTokenIds: fresh, promptTokens: 64 }), { endpoints: [mk('x', 0), mk('y', 0)] }, 10).endpoints[0]!.id, 'x');
});

test('sglang: longest match above the threshold, least loaded below it, shortest queue when imbalanced', () => {
  const s = createScheduler('sglang', { saturation: null, seed: 2 });
  const load = (id: string, requests: number) => endpoint(id, { inflight: { requests, promptTokens: 0, predictedBlocks: 0 } });
  const doc = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
  // Least loaded first (b), which then holds the document.
  assert.equal(s.schedule(request('1', { promptText: doc }), { endpoints: [load('a', 3), load('b', 1)] }, 0).endpoints[0]!.id, 'b');
  // Match rate ~0.9 > 0.3: cache wins even though b is busier.
  assert.equal(s.schedule(request('2', { promptText: doc + 'more' }), { endpoints: [load('a', 1), load('b', 3)] }, 1).endpoints[0]!.id, 'b');
  // A new text with a low match rate goes to the least loaded.
  assert.equal(s.schedule(request('3', { promptText: 'unrelated ' + doc.slice(0, 50) }), { endpoints: [load('a', 1), load('b', 3)] }, 2).endpoints[0]!.id, 'a');
  // Imbalance (100 - 10 > 64 and 100 > 15): shortest queue despite the cache.
  assert.equal(s.schedule(request('4', { promptText: doc }), { endpoints: [load('a', 10), load('b', 100)] }, 3).endpoints[0]!.id, 'a');
});

test('session affinity scorer and LoRA affinity filter', async () => {
  const { sessionAffinityScorer } = await import('../../src/scheduler/plugins/scorers/session-affinity.ts');
  const { loraAffinityFilter } = await import('../../src/scheduler/plugins/filters/lora-affinity.ts');
  const scorer = sessionAffinityScorer(2);
  const eps = [endpoint('a'), endpoint('b')];
  const ctx = (sessionToken?: string) => ({ request: request('r', { sessionToken }), view: { endpoints: eps }, now: 0, random: () => 0.5, memo: new Map() });
  assert.deepEqual(scorer.score(ctx('s1'), eps), [0, 0]);
  scorer.onScheduled!(ctx('s1'), { endpoints: [eps[1]!] });
  assert.deepEqual(scorer.score(ctx('s1'), eps), [0, 1]);
  scorer.onScheduled!(ctx('s2'), { endpoints: [eps[0]!] });
  scorer.onScheduled!(ctx('s3'), { endpoints: [eps[0]!] });
  assert.deepEqual(scorer.score(ctx('s1'), eps), [0, 0], 'bounded: the oldest session was forgotten');
  const f = loraAffinityFilter();
  const withLora = [endpoint('a'), endpoint('b', { model: ['m', 'my-adapter'] })];
  const c = { ...ctx(), request: request('r', { lora: 'my-adapter' }) };
  assert.deepEqual(f.filter(c, withLora).map((e) => e.id), ['b']);
  assert.deepEqual(f.filter({ ...c, request: request('r', { lora: 'unknown' }) }, withLora).length, 2);
});

test('LoRA affinity: an engine whose adapter slots all hold other adapters is left out while another can run the adapter now', async () => {
  const { loraAffinityFilter } = await import('../../src/scheduler/plugins/filters/lora-affinity.ts');
  const f = loraAffinityFilter();
  const model = ['m', 'sql-lora', 'chat-lora', 'math-lora'];
  const at = (id: string, active: string[] | undefined, scrapedAt = 0) => endpoint(id, { model, metrics: { scrapedAt, ...(active ? { lora: { active, max: 2 } } : {}) } });
  const ctx = (eps: ReturnType<typeof endpoint>[], now = 0) => ({ request: request('r', { lora: 'sql-lora' }), view: { endpoints: eps }, now, random: () => 0.5, memo: new Map() });
  const ids = (eps: ReturnType<typeof endpoint>[], now = 0) => f.filter(ctx(eps, now), eps).map((e) => e.id);
  const running = at('running', ['sql-lora', 'chat-lora']); // has it
  const room = at('room', ['chat-lora']); // one slot free
  const full = at('full', ['chat-lora', 'math-lora']); // would wait for a slot
  const unknown = at('unknown', undefined); // no LoRA metric: assumed free
  assert.deepEqual(ids([running, room, full, unknown]), ['running', 'room', 'unknown'], 'active or room; never only the one running it (no hot spot)');
  assert.deepEqual(ids([full, at('full-2', ['math-lora', 'chat-lora'])]), ['full', 'full-2'], 'all full: every candidate stays, it waits somewhere');
  assert.deepEqual(ids([running, full], 10), ['running', 'full'], 'stale metrics say nothing');
});
