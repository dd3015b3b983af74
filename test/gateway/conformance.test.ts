// Conformance with real clients against `inferstack serve` (its own process, --upstream pointing
// at a fake vLLM-style engine that returns tool calls when asked): the official openai SDK, the
// Vercel AI SDK with its OpenAI-compatible provider, and LangChain.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { generateText, jsonSchema, streamText, tool, APICallError } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { startFakeEngine, type FakeEngine } from './fixtures/fake-engine.ts';
import { spawnServe } from './fixtures/helpers.ts';

const KEY = 'sk-conformance-1234';
let engine: FakeEngine;
let serve: Awaited<ReturnType<typeof spawnServe>>;

before(async () => {
  engine = await startFakeEngine({ tokens: 3 });
  serve = await spawnServe(['--upstream', engine.url, '--engine-type', 'vllm', '--api-key', KEY]);
});
after(async () => {
  serve.child.kill('SIGTERM');
  await serve.exited;
  await engine.close();
});

const weatherParams = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } as const;

test('openai SDK: chat, streaming with usage, tool calls, errors', async () => {
  const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['fake-model']);

  const c = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(c.choices[0]!.message.content, 'tok0 tok1 tok2 ');

  const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'tok0 tok1 tok2 ');
  assert.equal(usage?.completion_tokens, 3);

  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: weatherParams } }];
  const t = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'weather?' }], tools });
  const call = t.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  const ts = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'weather?' }], tools, stream: true });
  let args = '';
  for await (const chunk of ts) args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
  assert.deepEqual(JSON.parse(args), { city: 'Paris' });

  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.status === 404 && (e.error as { code?: string }).code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: 'fake-model', messages: [] }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  const anon = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'sk-wrong-key-000', maxRetries: 0 });
  await assert.rejects(anon.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError);
});

test('Vercel AI SDK (openai-compatible provider): generate, stream with usage, tool calls, errors', async () => {
  const provider = createOpenAICompatible({ name: 'inferstack', baseURL: `${serve.url}/v1`, apiKey: KEY, includeUsage: true });
  const g = await generateText({ model: provider('fake-model'), prompt: 'hi', maxRetries: 0 });
  assert.equal(g.text, 'tok0 tok1 tok2 ');
  assert.equal(g.usage.outputTokens, 3);

  const s = streamText({ model: provider('fake-model'), prompt: 'hi', maxRetries: 0 });
  let text = '';
  for await (const part of s.textStream) text += part;
  assert.equal(text, 'tok0 tok1 tok2 ');
  assert.equal((await s.usage).outputTokens, 3);
  assert.equal((await s.usage).inputTokens, 7);

  const withTools = await generateText({
    model: provider('fake-model'),
    prompt: 'weather?',
    tools: { get_weather: tool({ description: 'weather', inputSchema: jsonSchema<{ city: string }>(weatherParams) }) },
    maxRetries: 0,
  });
  assert.equal(withTools.toolCalls[0]!.toolName, 'get_weather');
  assert.deepEqual(withTools.toolCalls[0]!.input, { city: 'Paris' });

  await assert.rejects(generateText({ model: provider('nope'), prompt: 'x', maxRetries: 0 }), (e: unknown) => APICallError.isInstance(e) && e.statusCode === 404 && /does not exist/.test(e.message));
});

test('LangChain.js ChatOpenAI: invoke, stream with usage, tool calls, errors', async () => {
  const model = new ChatOpenAI({ model: 'fake-model', apiKey: KEY, configuration: { baseURL: `${serve.url}/v1` }, maxRetries: 0, streamUsage: true });
  const r = await model.invoke('hi');
  assert.equal(r.content, 'tok0 tok1 tok2 ');

  let text = '';
  let outputTokens: number | undefined;
  for await (const chunk of await model.stream('hi')) {
    text += String(chunk.content);
    if (chunk.usage_metadata) outputTokens = chunk.usage_metadata.output_tokens;
  }
  assert.equal(text, 'tok0 tok1 tok2 ');
  assert.equal(outputTokens, 3);

  const withTools = model.bindTools([{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: weatherParams } }]);
  const t = await withTools.invoke('weather?');
  assert.equal(t.tool_calls![0]!.name, 'get_weather');
  assert.deepEqual(t.tool_calls![0]!.args, { city: 'Paris' });

  const missing = new ChatOpenAI({ model: 'nope', apiKey: KEY, configuration: { baseURL: `${serve.url}/v1` }, maxRetries: 0 });
  await assert.rejects(missing.invoke('x'), (e: unknown) => (e as { status?: number }).status === 404 && /does not exist/.test((e as Error).message));
});
