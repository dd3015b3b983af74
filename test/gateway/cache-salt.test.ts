// cache_salt end to end: twin PROCESSES name a salted request's salt in their BlockStored events
// (vLLM's extra_keys), the gateway's precise index keys those blocks under the salt, so the same
// prompt with the same salt finds its prefix (and its twin) again, and with another salt finds
// nothing: no prefix is shared across salts, in the index or in the engines' caches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { gatewayFor, metricSum, postJson, recordDecisions, spawnTwin, stopProcess } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

const MODEL = 'llama-3.1-8b';

test('cache_salt live: same salt hits the precise index and lands on the same twin; another salt shares nothing', async (t) => {
  const twins = await Promise.all([0, 1, 2].map(() => spawnTwin(['--kv-events', 'tcp://127.0.0.1:*', '--kv-events-replay', 'tcp://127.0.0.1:*'])));
  t.after(() => Promise.all(twins.map(stopProcess)));
  const gw = await gatewayFor([], {
    models: [MODEL],
    policy: 'llm-d-precise',
    endpoints: twins.map((tw) => ({ url: tw.url, engine: 'twin', kvEvents: tw.kvEvents! })),
  });
  t.after(() => gw.close());
  const pool = gw.state().pools[0]!;
  const index = pool.kvFeed.index;
  const ids = pool.endpoints.map((e) => e.id);

  // PUB/SUB drops what is published before the subscription is up: warm each twin directly until
  // the gateway has heard from it, so the test's own events cannot be lost that way.
  for (const [i, tw] of twins.entries()) {
    await until(`KV events from twin ${i}`, async () => {
      await postJson(`${tw.url}/v1/completions`, { model: MODEL, prompt: `warm-up ${i} `.repeat(30), max_tokens: 1 });
      await sleep(20);
      return (await metricSum(gw.url, 'inferstack_gateway_kv_events_total', { endpoint: ids[i]! })) > 0;
    });
  }

  const seen = recordDecisions(pool);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: `A long shared document. ${'Salted prefixes must stay apart. '.repeat(40)}` }];
  const ask = async (salt: string) => {
    // cache_salt is vLLM's request field; the openai client passes unknown body fields through.
    const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 2, cache_salt: salt } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const { request, decision } = seen.at(-1)!;
    assert.equal(request.cacheSalt, salt);
    return { cached: r.usage!.prompt_tokens_details?.cached_tokens ?? 0, twin: decision.endpoints[0]!.id, decision, request };
  };
  // Past the speculative entries' 2 s TTL: only blocks the twins' events confirmed count.
  const confirmed = (keys: readonly bigint[]) => index.matchedBlocks(keys, ids, performance.now() / 1000 + 60);

  const a1 = await ask('tenant-a');
  const tokenIds = a1.request.promptTokenIds!;
  const keysA = hashBlocks(tokenIds, 16, 'tenant-a');
  const keysB = hashBlocks(tokenIds, 16, 'tenant-b');
  const unsalted = hashBlocks(tokenIds, 16);
  assert.ok(keysA.length >= 20, `a prompt of ${keysA.length} full blocks`);
  assert.equal(a1.cached, 0, 'a fresh prompt');
  const onA = ids.indexOf(a1.twin);
  await until('the twin\'s events for salt A', () => confirmed(keysA)[onA] === keysA.length);
  assert.deepEqual(confirmed(keysA).map((m, i) => (i === onA ? 0 : m)), [0, 0, 0], 'only the serving twin holds it');
  assert.deepEqual(confirmed(keysB), [0, 0, 0], 'salt B has no blocks: the salt is in the keys');
  assert.deepEqual(confirmed(unsalted), [0, 0, 0], 'nor does the unsalted prompt');

  // Salt A again: the index predicts the whole prefix on the same twin, and the twin serves it from cache.
  const a2 = await ask('tenant-a');
  assert.equal(a2.twin, a1.twin, 'the same twin');
  // (The estimate is capped at the request's token estimate, about 4 characters per token.)
  assert.equal(a2.decision.predictedCachedTokens, Math.min(a2.request.promptTokens, keysA.length * 16), 'the whole prefix predicted cached');
  assert.ok(a2.cached >= (keysA.length - 1) * 16, `the twin served ${a2.cached} prompt tokens from its cache`);

  // Salt B, same text: no cross-salt hit in the index, nor in whichever twin serves it.
  const b1 = await ask('tenant-b');
  assert.equal(b1.decision.predictedCachedTokens, 0, 'the index predicts nothing cached for salt B');
  assert.equal(b1.cached, 0, 'the twin shares no prefix across salts either');
  const onB = ids.indexOf(b1.twin);
  await until('the twin\'s events for salt B', () => confirmed(keysB)[onB] === keysB.length);
  assert.equal(confirmed(keysA)[onA], keysA.length, 'salt A\'s blocks are still there, apart');
});
