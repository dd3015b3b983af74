// The Responses API (/v1/responses, served by vLLM) through the gateway, with the official openai
// client: routed like a chat (instructions and input rendered for prefix keys), answered and
// streamed through unchanged (its named SSE events included), bad input refused in OpenAI's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { gatewayFor, metricSum, postJson, recordDecisions } from './fixtures/helpers.ts';

test('responses: routed, answered and streamed through the gateway to the official client', async (t) => {
  const engine = await startFakeEngine({ tokens: 4 });
  const gw = await gatewayFor([engine.url], { policy: 'llm-d' });
  t.after(async () => { await gw.close(); await engine.close(); });
  const seen = recordDecisions(gw.state().pools[0]!);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  const r = await client.responses.create({ model: 'fake-model', instructions: 'Be brief.', input: 'What is a KV cache?', max_output_tokens: 16 });
  assert.equal(r.output_text, 'tok0 tok1 tok2 tok3 ');
  assert.equal(r.usage?.output_tokens, 4);
  const { request } = seen.at(-1)!;
  assert.equal(request.promptText, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is a KV cache?<|im_end|>\n<|im_start|>assistant\n', 'routed on the chat it renders to');
  assert.equal(request.maxTokens, 16);
  assert.equal(engine.seen.at(-1)!.path, '/v1/responses', 'forwarded as a Responses request');

  const stream = await client.responses.create({
    model: 'fake-model',
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream it.' }] }],
    stream: true,
  });
  const types: string[] = [];
  let text = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
  }
  assert.equal(text, 'tok0 tok1 tok2 tok3 ');
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  assert.equal(seen.at(-1)!.request.promptText, '<|im_start|>user\nStream it.<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(await metricSum(gw.url, 'inferstack_gateway_requests_total', { model: 'fake-model', status: '200' }), 2);

  for (const [body, param] of [
    [{ model: 'fake-model' }, 'input'],
    [{ model: 'fake-model', input: [] }, 'input'],
    [{ model: 'fake-model', input: 'x', instructions: 3 }, 'instructions'],
    [{ model: 'fake-model', input: [7] }, 'input[0]'],
  ] as const) {
    const bad = await postJson(`${gw.url}/v1/responses`, body);
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.equal(bad.json.error.param, param);
  }
  assert.equal((await fetch(`${gw.url}/v1/responses`)).status, 405);
});

test('responses: the twin serves the Responses API, directly and through the gateway, plain and streamed, cache hits in its usage', async (t) => {
  const twin = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'instant', log: () => {} });
  const gw = await gatewayFor([], { models: ['llama-3.1-8b'], policy: 'inferstack', tokenizer: { source: 'builtin' }, endpoints: [{ url: twin.url, engine: 'twin' }] });
  t.after(async () => { await gw.close(); await twin.close(); });
  const seen = recordDecisions(gw.state().pools[0]!);
  const input = `A document worth caching. ${'Responses share the chat path. '.repeat(20)}`;
  for (const baseURL of [`${twin.url}/v1`, `${gw.url}/v1`]) {
    const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
    const r = await client.responses.create({ model: 'llama-3.1-8b', instructions: 'Be brief.', input, max_output_tokens: 5 });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'incomplete', 'cut at max_output_tokens');
    assert.equal(r.usage?.output_tokens, 5);
    assert.ok(r.output_text.length > 0, 'simulated filler text');
    const stream = await client.responses.create({ model: 'llama-3.1-8b', instructions: 'Be brief.', input, max_output_tokens: 5, stream: true });
    let text = '';
    let done: OpenAI.Responses.Response | undefined;
    const types: string[] = [];
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.incomplete' || e.type === 'response.completed') done = e.response;
    }
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.equal(types.filter((x) => x === 'response.output_text.delta').length, 5);
    assert.equal(done?.output_text ?? (done?.output[0] as { content: { text: string }[] }).content[0]!.text, text, 'the deltas add up to the final text');
    assert.ok((done?.usage?.input_tokens_details.cached_tokens ?? 0) > 0, 'the repeated prompt was served from the twin\'s cache');
  }
  // Through the gateway the pool's tokenizer counted exactly what the twin did.
  const viaGateway = seen.at(-1)!.request;
  const twinCount = (await postJson(`${twin.url}/tokenize`, { model: 'llama-3.1-8b', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: input }] })).json.count;
  assert.equal(viaGateway.promptTokens, twinCount);
  const bad = await postJson(`${twin.url}/v1/responses`, { model: 'llama-3.1-8b', input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /message item/);
});
