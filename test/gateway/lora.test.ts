// LoRA live: twins serving adapters (--lora-modules, --max-loras 1) publish vLLM's
// lora_requests_info; the gateway scrapes it, and a request for an adapter avoids the engine
// whose only adapter slot another adapter holds, even when that engine looks less loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { gatewayFor, postJson, recordDecisions } from './fixtures/helpers.ts';
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
