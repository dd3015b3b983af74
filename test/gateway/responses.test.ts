// The Responses API (/v1/responses, served by vLLM) through the gateway, with the official openai
// client: routed like a chat (instructions and input rendered for prefix keys), answered and
// streamed through unchanged (its named SSE events included), bad input refused in OpenAI's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeEngine } from './fixtures/fake-engine.ts';
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
