// In-process reload: streams in flight finish on the old endpoints, unchanged endpoints carry over,
// requests queued for a pool that lost endpoints are told to retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, gatewayFor, poolOf, postJson, readSse } from './fixtures/helpers.ts';

const chat = { model: 'fake-model', messages: [{ role: 'user', content: 'x' }] };

test('reload: in-flight stream completes, queued request gets 503 retry, new endpoint serves', async (t) => {
  const oldEngine = await startFakeEngine({ tokens: 10, chunkDelayMs: 30 });
  const newEngine = await startFakeEngine();
  const gw = await gatewayFor([], { endpoints: [{ url: oldEngine.url, engine: 'vllm', maxConcurrency: 1 }] });
  t.after(async () => { await gw.close(); await oldEngine.close(); await newEngine.close(); });
  const streaming = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }) });
  const response = await streaming;
  const queued = postJson(`${gw.url}/v1/chat/completions`, chat);
  for (let i = 0; i < 100 && gw.state().pools[0]!.queue.depth === 0; i++) await sleep(10);
  assert.equal(gw.state().pools[0]!.queue.depth, 1);

  await gw.reload(configFor([poolOf([newEngine.url])]));
  const q = await queued;
  assert.equal(q.status, 503);
  assert.equal(q.json.error.code, 'pool_reloaded');
  assert.equal(q.headers.get('retry-after'), '1');
  const events = await readSse(response);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.filter((e) => e.includes('"content":"tok')).length, 10);
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
  assert.equal(newEngine.seen.length, 1);
});

test('reload: an unchanged endpoint keeps its runtime (breaker, accounting, connections)', async (t) => {
  const engine = await startFakeEngine();
  const other = await startFakeEngine({ models: ['other'] });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); await other.close(); });
  const before = gw.state().pools[0]!.endpoints[0]!;
  await gw.reload(configFor([poolOf([engine.url]), poolOf([other.url], { name: 'o', models: ['other'] })]));
  assert.equal(gw.state().pools[0]!.endpoints[0], before);
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { model: 'other', messages: [{ role: 'user', content: 'x' }] })).status, 200);
});
