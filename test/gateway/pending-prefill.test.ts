// The signals the gateway feeds the scheduler beyond requests/tokens/blocks: each endpoint's
// `pendingPrefillTokens` (uncached prompt tokens sent there without a first token yet, filled as
// the virtual cluster fills it) and each request's `promptBlockKeys` (computed once, reused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PendingPrefill, uncachedTokens } from '../../src/gateway/pending-prefill.ts';
import type { Gateway } from '../../src/gateway/server.ts';
import type { EndpointView, SchedulingDecision, SchedulingRequest } from '../../src/scheduler/types.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { gatewayFor, postJson } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

const longPrompt = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
const chat = { model: 'fake-model', messages: [{ role: 'user', content: longPrompt }], max_tokens: 3, stream: true };

/**
 * Records what the pool's scheduler was asked and decided. `cached` replaces its cache estimate and
 * `first` moves that endpoint to the front, so a test knows which engine is tried first.
 */
function spy(gw: Gateway, o: { cached?: number; first?: string } = {}): { requests: SchedulingRequest[]; decisions: SchedulingDecision[] } {
  const pool = gw.state().pools[0]!;
  const seen = { requests: [] as SchedulingRequest[], decisions: [] as SchedulingDecision[] };
  const original = pool.scheduler.schedule.bind(pool.scheduler);
  (pool.scheduler as { schedule: typeof original }).schedule = (req, view, now) => {
    const d = original(req, view, now);
    if (o.first) d.endpoints.sort((a, b) => Number(b.id === o.first) - Number(a.id === o.first));
    if (o.cached !== undefined && d.endpoints.length > 0) d.predictedCachedTokens = o.cached;
    seen.requests.push(req);
    seen.decisions.push(d);
    return d;
  };
  return seen;
}

const views = (gw: Gateway): EndpointView[] => gw.state().pools[0]!.endpoints.map((e) => e.view);
const allZero = (gw: Gateway) => views(gw).every((v) => v.inflight.requests === 0 && v.inflight.pendingPrefillTokens === 0 && v.inflight.pendingPrefillRequests === 0 && v.inflight.promptTokens === 0);

test('uncachedTokens: the estimate counts only on the endpoint it is about; a transfer needs no prefill', () => {
  const est = { endpointId: 'a', tokens: 30 };
  assert.equal(uncachedTokens('a', 100, est), 70);
  assert.equal(uncachedTokens('b', 100, est), 100, 'a failover target nobody estimated prefills it all');
  assert.equal(uncachedTokens('a', 20, est), 0, 'never negative');
  assert.equal(uncachedTokens('a', 100, undefined), 100);
  assert.equal(uncachedTokens('a', 100, est, true), 0);
  const view: EndpointView = { id: 'a', url: 'a', model: [], engineType: 'vllm', healthy: true, metrics: {}, inflight: { requests: 0, promptTokens: 0, predictedBlocks: 0 } };
  const p = new PendingPrefill(view, 70);
  const q = new PendingPrefill(view, 30);
  new PendingPrefill(view, 0).settle();
  assert.equal(view.inflight.pendingPrefillTokens, 100);
  assert.equal(view.inflight.pendingPrefillRequests, 2, 'a request with nothing to prefill is not counted');
  p.settle();
  p.settle();
  assert.equal(view.inflight.pendingPrefillTokens, 30, 'settled once however often it is told');
  assert.equal(view.inflight.pendingPrefillRequests, 1);
  q.settle();
  assert.equal(view.inflight.pendingPrefillRequests, 0);
});

test('pending prefill: uncached prompt tokens from routing to the first token, then zero', async (t) => {
  const engine = await startFakeEngine({ responseDelayMs: 300, chunkDelayMs: 150, tokens: 3 });
  const gw = await gatewayFor([engine.url], { policy: 'inferstack' });
  t.after(async () => { await gw.close(); await engine.close(); });
  const seen = spy(gw, { cached: 40 });
  assert.equal(views(gw)[0]!.inflight.pendingPrefillTokens, 0, 'starts at zero');
  const done = postJson(`${gw.url}/v1/chat/completions`, chat);
  const v = views(gw)[0]!;
  await until('the request to be routed', () => v.inflight.requests === 1);
  const prompt = seen.requests[0]!.promptTokens;
  assert.ok(prompt > 40);
  assert.equal(v.inflight.pendingPrefillTokens, prompt - 40, 'the prompt minus the scheduler\'s cache estimate');
  assert.equal(v.inflight.pendingPrefillRequests, 1);
  // The engine answers after 300 ms; its first chunk is the first token, content follows 150 ms apart.
  await until('the first token', () => v.inflight.pendingPrefillTokens === 0);
  assert.equal(v.inflight.pendingPrefillRequests, 0);
  assert.equal(v.inflight.requests, 1, 'still streaming, no longer prefilling');
  assert.equal((await done).status, 200);
  await until('the request to end', () => allZero(gw));
});

test('pending prefill over a twin with H100 step times: its stream is silent until the first token, so pending spans the prefill', async (t) => {
  const twin = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'model', log: () => {} });
  const gw = await gatewayFor([], { models: ['llama-3.1-8b'], policy: 'inferstack', hardware: { model: 'llama-3.1-8b', gpu: 'h100' }, endpoints: [{ url: twin.url, engine: 'twin' }] });
  t.after(async () => { await gw.close(); await twin.close(); });
  const v = views(gw)[0]!;
  // About 32k tokens: four 8k-token prefill chunks, over a second of simulated H100 time.
  const content = 'alpha beta gamma delta '.repeat(4600);
  const response = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content }], max_tokens: 2, stream: true }),
  });
  // The twin takes the request and sends its headers at once (as vLLM), then nothing until the first token.
  await until('the twin to take the request', () => twin.stats().inFlight === 1);
  await sleep(100);
  assert.ok(v.inflight.pendingPrefillTokens! > 20_000, `still prefilling: ${v.inflight.pendingPrefillTokens} tokens pending`);
  const r = await response;
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /"role":"assistant"/, 'the role chunk comes with the first token');
  assert.equal(v.inflight.pendingPrefillTokens, 0, 'the gateway saw the first token before the client did');
  while (!(await reader.read()).done) { /* drain */ }
  await until('the request to end', () => allZero(gw));
});

test('pending prefill: a failover target counts the whole prompt; an engine 500 and a dead engine leave nothing behind', async (t) => {
  const failing = await startFakeEngine({ failStatus: 500 });
  const slow = await startFakeEngine({ responseDelayMs: 300 });
  const dead = await startFakeEngine();
  const deadUrl = dead.url;
  await dead.close();
  const gw = await gatewayFor([failing.url, slow.url, deadUrl], { policy: 'least-load' });
  t.after(async () => { await gw.close(); await failing.close(); await slow.close(); });
  const [vFailing, vSlow] = views(gw);

  // The failing engine is tried first: its 500 moves the request on to the slow engine, which
  // counts the whole prompt (the estimate was about the failing engine) until it answers.
  const seen = spy(gw, { cached: 25, first: failing.url });
  const first = postJson(`${gw.url}/v1/chat/completions`, chat);
  await until('failover to the slow engine', () => vSlow!.inflight.requests === 1);
  const prompt = seen.requests[0]!.promptTokens;
  assert.equal(vFailing!.inflight.pendingPrefillTokens, 0, 'the failed attempt took its tokens back');
  assert.equal(vSlow!.inflight.pendingPrefillTokens, prompt, 'a failover target prefills the whole prompt');
  assert.equal((await first).status, 200);
  assert.ok(allZero(gw), 'zero after failover');

  // The dead engine (connection refused) first: failover, and again nothing is left behind.
  spy(gw, { cached: 25, first: deadUrl });
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
  await until('zero after a dead engine', () => allZero(gw));
});

test('pending prefill: back to zero when the client leaves before the first token', async (t) => {
  const slow = await startFakeEngine({ responseDelayMs: 400 });
  const gw = await gatewayFor([slow.url], { policy: 'inferstack' });
  t.after(async () => { await gw.close(); await slow.close(); });
  const seen = spy(gw, { cached: 25 });
  const v = views(gw)[0]!;
  const ac = new AbortController();
  const aborted = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat), signal: ac.signal }).catch((e: Error) => e);
  await until('routing', () => v.inflight.requests === 1);
  assert.equal(v.inflight.pendingPrefillTokens, seen.requests[0]!.promptTokens - 25);
  ac.abort();
  assert.ok((await aborted) instanceof Error);
  await until('zero after the client abort', () => allZero(gw));
});

test('pending prefill with disaggregation: on the prefill engine until it answers, none for the decode leg', async (t) => {
  const prefill = await startFakeEngine({ responseDelayMs: 300 });
  const decode = await startFakeEngine({ responseDelayMs: 300 });
  const gw = await gatewayFor([], {
    policy: 'least-load',
    disaggregation: { threshold: 16 },
    endpoints: [
      { url: prefill.url, engine: 'vllm', role: 'prefill' },
      { url: decode.url, engine: 'vllm', role: 'decode' },
    ],
  });
  t.after(async () => { await gw.close(); await prefill.close(); await decode.close(); });
  const seen = spy(gw, { cached: 10 });
  const [vPrefill, vDecode] = views(gw);
  const done = postJson(`${gw.url}/v1/chat/completions`, chat);
  await until('the prefill leg', () => vPrefill!.inflight.requests === 1);
  assert.ok(seen.decisions[0]!.prefill, 'disaggregated');
  assert.equal(vPrefill!.inflight.pendingPrefillTokens, seen.requests[0]!.promptTokens - 10, 'the estimate is about the prefill pick');
  await until('the decode leg', () => vDecode!.inflight.requests === 1);
  assert.equal(vPrefill!.inflight.pendingPrefillTokens, 0, 'the prefill answered');
  assert.equal(vDecode!.inflight.pendingPrefillTokens, 0, 'the decode engine pulls the KV, it prefills nothing');
  assert.equal((await done).status, 200);
  await until('zero', () => allZero(gw));
});

test('promptBlockKeys: the prompt\'s salted block keys at the pool\'s block size, computed once per request', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url], { policy: 'llm-d-precise' });
  t.after(async () => { await gw.close(); await engine.close(); });
  const seen = spy(gw);
  await until('the block size scrape', () => views(gw)[0]!.metrics.blockSize === 16);
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { ...chat, stream: false, cache_salt: 'tenant-1' })).status, 200);
  const r = seen.requests[0]!;
  const keys = r.promptBlockKeys!;
  assert.equal(keys.blockSize, 16);
  assert.deepEqual(keys.keys, hashBlocks(r.promptTokenIds!, 16, 'tenant-1'));
  assert.ok(keys.keys.length >= 10);
  assert.notDeepEqual(keys.keys, hashBlocks(r.promptTokenIds!, 16), 'the salt is in the keys');
  assert.equal(r.promptBlockKeys, keys, 'the same object on every read: hashed once');
});

test('promptBlockKeys: a LoRA adapter\'s request is keyed under the adapter (vLLM keeps its blocks apart from the base model\'s)', async (t) => {
  const engine = await startFakeEngine({ models: ['fake-model', 'sql-lora'] });
  const gw = await gatewayFor([engine.url], { policy: 'llm-d-precise', adapters: ['sql-lora'] });
  t.after(async () => { await gw.close(); await engine.close(); });
  const seen = spy(gw);
  for (const model of ['sql-lora', 'fake-model']) assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { ...chat, model, stream: false, cache_salt: 'tenant-1' })).status, 200);
  const [adapter, base] = seen.requests as [SchedulingRequest, SchedulingRequest];
  assert.equal(adapter.lora, 'sql-lora');
  assert.deepEqual(adapter.promptTokenIds, base.promptTokenIds, 'the same prompt');
  assert.deepEqual(adapter.promptBlockKeys!.keys, hashBlocks(adapter.promptTokenIds!, 16, 'tenant-1', 'sql-lora'));
  assert.notDeepEqual(adapter.promptBlockKeys!.keys, base.promptBlockKeys!.keys);
});
