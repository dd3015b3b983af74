// LoRA live: twins serving adapters (--lora-modules, --max-loras 1) publish vLLM's
// lora_requests_info; the gateway scrapes it, and a request for an adapter avoids the engine
// whose only adapter slot another adapter holds, even when that engine looks less loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { gatewayFor, metricSum, postJson, recordDecisions } from './fixtures/helpers.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { until } from '../helpers/until.ts';

const MODEL = 'llama-3.1-8b';

test('LoRA affinity live: an adapter request goes where an adapter slot is free, not where another adapter holds it', async (t) => {
  const twins = await Promise.all([0, 1].map(() => startTwinServer({ model: MODEL, gpu: 'h100', timing: 'model', loraModules: ['sql-lora', 'chat-lora'], maxLoras: 1, log: () => {} })));
  const [a, b] = twins as [typeof twins[0], typeof twins[0]];
  const gw = await gatewayFor([], { models: [MODEL], adapters: ['sql-lora', 'chat-lora'], policy: 'least-load', endpoints: twins.map((tw) => ({ url: tw.url, engine: 'twin' })) });
  t.after(async () => { await gw.close(); await Promise.all(twins.map((tw) => tw.close())); });
  const pool = gw.state().pools[0]!;
  const [viewA, viewB] = pool.endpoints.map((e) => e.view) as [typeof pool.endpoints[0]['view'], typeof pool.endpoints[0]['view']];

  // Straight to the twins, so only their metrics tell: A runs one chat-lora request (its one
  // adapter slot), B runs two base-model requests (busier, but no adapter).
  const long = (url: string, model: string) => postJson(`${url}/v1/completions`, { model, prompt: 'a long answer '.repeat(20), max_tokens: 400, ignore_eos: true });
  const background = [long(a.url, 'chat-lora'), long(b.url, MODEL), long(b.url, MODEL)];
  await until('the gateway to scrape both twins busy', () => viewA.metrics.lora?.active.includes('chat-lora') === true && viewA.metrics.running === 1 && viewB.metrics.running === 2);
  assert.deepEqual(viewA.metrics.lora, { active: ['chat-lora'], max: 1 });
  assert.deepEqual(viewB.metrics.lora, { active: [], max: 1 });

  const seen = recordDecisions(pool);
  const ask = async (model: string) => {
    const r = await postJson(`${gw.url}/v1/completions`, { model, prompt: 'hello', max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
    return seen.at(-1)!.decision.endpoints[0]!.id;
  };
  assert.equal(await ask('sql-lora'), viewB.id, 'A\'s only slot holds chat-lora: sql-lora would wait there');
  assert.equal(await ask('chat-lora'), viewA.id, 'chat-lora is active on A, the less loaded');
  await Promise.all(background);
});

test('LoRA precise keys live: an adapter\'s prompt is found again under its adapter, never under the base model', async (t) => {
  const twins = await Promise.all([0, 1].map(() => startTwinServer({ model: MODEL, gpu: 'h100', timing: 'instant', loraModules: ['sql-lora'], kvEvents: { endpoint: 'tcp://127.0.0.1:*' }, log: () => {} })));
  const gw = await gatewayFor([], {
    models: [MODEL], adapters: ['sql-lora'], policy: 'llm-d-precise',
    endpoints: twins.map((tw) => ({ url: tw.url, engine: 'twin', kvEvents: { endpoint: tw.kvEventsEndpoint! } })),
  });
  t.after(async () => { await gw.close(); await Promise.all(twins.map((tw) => tw.close())); });
  const pool = gw.state().pools[0]!;
  const ids = pool.endpoints.map((e) => e.id);
  // PUB/SUB drops what is published before the subscription is up: warm each twin until heard.
  for (const [i, tw] of twins.entries()) {
    let warm = 0;
    await until(`KV events from twin ${i}`, async () => {
      await postJson(`${tw.url}/v1/completions`, { model: MODEL, prompt: `warm-up ${i} ${warm++} `.repeat(40), max_tokens: 1 });
      return (await metricSum(gw.url, 'inferstack_gateway_kv_events_total', { endpoint: ids[i]! })) > 0;
    });
  }
  const seen = recordDecisions(pool);
  const prompt = `An adapter's own document. ${'LoRA blocks are keyed apart. '.repeat(40)}`;
  const ask = async (model: string) => {
    const r = await postJson(`${gw.url}/v1/completions`, { model, prompt, max_tokens: 1 });
    assert.equal(r.status, 200, r.text);
    return { ...seen.at(-1)!, cached: r.json.usage.prompt_tokens_details?.cached_tokens ?? 0 };
  };
  const first = await ask('sql-lora');
  const keys = first.request.promptBlockKeys!.keys;
  const on = ids.indexOf(first.decision.endpoints[0]!.id);
  // Past the speculative entries' 2 s TTL: only what the twin's events confirmed counts.
  await until('the adapter\'s blocks confirmed', () => pool.kvFeed.index.matchedBlocks(keys, ids, 1e9)[on] === keys.length);
  const again = await ask('sql-lora');
  assert.equal(again.decision.endpoints[0]!.id, ids[on], 'back to the twin holding it');
  assert.ok(again.cached >= (keys.length - 1) * 16, `the twin served ${again.cached} tokens of the adapter's prompt from cache`);
  const baseKeys = hashBlocks(first.request.promptTokenIds!, 16);
  assert.deepEqual(pool.kvFeed.index.matchedBlocks(baseKeys, ids, 1e9), [0, 0], 'the same prompt under the base model matches none of it');
  const base = await ask(MODEL);
  assert.deepEqual(base.request.promptBlockKeys!.keys, baseKeys);
  assert.equal(base.cached, 0, 'nor does the twin share it');
});
