// The local engine's HTTP surface with real llama.cpp compute on a generated model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startLocalEngineServer, type LocalEngineServer } from '../../../src/engines/local/index.ts';
import { scraperFor } from '../../../src/engines/scrapers/index.ts';
import { eventually, metric, post, sseEvents, tempModels } from './helpers.ts';

let models: Awaited<ReturnType<typeof tempModels>>;
let server: LocalEngineServer;
const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'tiny', messages: [{ role: 'user', content }], ...extra });

before(async () => {
  models = await tempModels({ tiny: { seed: 7 } });
  server = await startLocalEngineServer({
    models: [{ name: 'tiny', path: models.paths.tiny! }],
    parallelSequences: 2,
    contextSize: 256,
    threads: 1,
    maxBodyBytes: 64 * 1024,
  });
});

after(async () => {
  await server?.close();
  await models?.cleanup();
});

test('non-streaming chat: the GGUF chat template, usage, finish_reason length at max_tokens', async () => {
  const r = await post(`${server.url}/v1/chat/completions`, chat('hello', { max_tokens: 12, ignore_eos: true, seed: 1 }));
  assert.equal(r.status, 200);
  const body = (await r.json()) as any;
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(body.choices[0].finish_reason, 'length');
  assert.equal(body.usage.completion_tokens, 12);
  // ChatML: <|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n -> 3 specials + text tokens
  assert.ok(body.usage.prompt_tokens >= 8, `prompt_tokens ${body.usage.prompt_tokens}`);
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 12);
});

test('streaming chat with include_usage: role chunk, deltas, finish, usage chunk, [DONE]; same text as non-streaming with the same seed', async () => {
  const params = { max_tokens: 16, ignore_eos: true, seed: 42, temperature: 0.8 };
  const r = await post(`${server.url}/v1/chat/completions`, chat('stream me', { ...params, stream: true, stream_options: { include_usage: true } }));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = sseEvents(await r.text()) as any[];
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events[0].choices[0].delta.role, 'assistant');
  const usage = events.at(-2);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 16);
  const finish = events.at(-3);
  assert.equal(finish.choices[0].finish_reason, 'length');
  const streamed = events.slice(1, -3).map((e) => e.choices[0].delta.content).join('');

  const whole = (await (await post(`${server.url}/v1/chat/completions`, chat('stream me', params))).json()) as any;
  assert.equal(streamed, whole.choices[0].message.content);
});

test('responses: the Responses API runs as the chat it renders to; plain and streamed give the same text with the same seed', async () => {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const ask = { model: 'tiny', instructions: 'be brief', input: 'hello', max_output_tokens: 6, seed: 1 } as OpenAI.Responses.ResponseCreateParamsNonStreaming;
  const plain = await client.responses.create({ ...ask, ignore_eos: true } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
  assert.equal(plain.object, 'response');
  assert.equal(plain.status, 'incomplete', 'cut at max_output_tokens');
  assert.equal(plain.usage?.output_tokens, 6);
  const stream = await client.responses.create({ ...ask, ignore_eos: true, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming);
  let text = '';
  let last = '';
  for await (const e of stream) {
    if (e.type === 'response.output_text.delta') text += e.delta;
    last = e.type;
  }
  assert.equal(last, 'response.incomplete');
  assert.equal(text, plain.output_text);
});

test('completions: stop strings end the text before the stop, prompt as token ids', async () => {
  const params = { model: 'tiny', prompt: 'the quick brown fox', max_tokens: 40, ignore_eos: true, seed: 5, temperature: 0.9 };
  const full = (await (await post(`${server.url}/v1/completions`, params)).json()) as any;
  const text: string = full.choices[0].text;
  assert.equal(full.object, 'text_completion');
  // Take two characters from the middle of the generated text as the stop string.
  const at = Math.floor(text.length / 2);
  const stop = text.slice(at, at + 2);
  const cut = (await (await post(`${server.url}/v1/completions`, { ...params, stop: [stop] })).json()) as any;
  assert.equal(cut.choices[0].finish_reason, 'stop');
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));

  const ids = (await (await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: [1, 2, 3, 4], max_tokens: 3, ignore_eos: true })).json()) as any;
  assert.equal(ids.usage.prompt_tokens, 4);
  assert.equal(ids.usage.completion_tokens, 3);
});

test('a repeated prompt reuses the cached prefix of the sequence that holds it', async () => {
  const req = chat('a long shared prefix that should stay in the KV cache of one sequence', { max_tokens: 2, ignore_eos: true });
  await post(`${server.url}/v1/chat/completions`, req).then((r) => r.json());
  const again = (await (await post(`${server.url}/v1/chat/completions`, req)).json()) as any;
  assert.equal(again.usage.prompt_tokens_details.cached_tokens, again.usage.prompt_tokens - 1);
});

test('cancellation: a client that disconnects frees its sequence', async () => {
  const abort = new AbortController();
  const r = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'cancel me', max_tokens: 200, ignore_eos: true, stream: true }, abort.signal);
  const reader = r.body!.getReader();
  await reader.read(); // first chunk arrived: the request is running
  abort.abort();
  await eventually(async () => (await metric(server.url, 'vllm:request_success_total{model_name="tiny",finished_reason="abort"}')) === 1);
  const stats = server.registry.status()[0]!.stats!;
  assert.equal(stats.running, 0);
  assert.ok(stats.kvCachedTokens < 100, `the cancelled sequence stopped early (${stats.kvCachedTokens} tokens kept)`);
  const next = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'next', max_tokens: 2 });
  assert.equal(next.status, 200);
});

test('bad requests get OpenAI-shaped errors and the server keeps serving', async () => {
  const cases: [unknown, number, RegExp][] = [
    [{ model: 'nope', prompt: 'x' }, 404, /'nope' does not exist/],
    [{ prompt: 'x' }, 400, /'model'/],
    [{ model: 'tiny', prompt: 'x', n: 2 }, 400, /'n' must be 1/],
    [{ model: 'tiny', prompt: 'x', temperature: 9 }, 400, /'temperature'/],
    [{ model: 'tiny', prompt: 'x', max_tokens: 1000 }, 400, /maximum context length is 256/],
    [{ model: 'tiny', prompt: [999999] }, 400, /outside this model's vocabulary/],
    [{ model: 'tiny', prompt: ['a', 'b'] }, 400, /one prompt per request/],
  ];
  for (const [body, status, message] of cases) {
    const r = await post(`${server.url}/v1/completions`, body);
    assert.equal(r.status, status, JSON.stringify(body));
    const err = ((await r.json()) as any).error;
    assert.match(err.message, message);
    assert.equal(err.code, status);
  }
  const bad = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{not json' });
  assert.equal(bad.status, 400);
  const big = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'x'.repeat(100_000) });
  assert.equal(big.status, 413);
  const parts = await post(`${server.url}/v1/chat/completions`, { model: 'tiny', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] });
  assert.equal(parts.status, 400);
  assert.equal((await fetch(`${server.url}/v1/nothing`)).status, 404);
  assert.equal((await fetch(`${server.url}/v1/completions`)).status, 405);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
});

test('/v1/models says which models are loaded; /metrics uses vLLM names', async () => {
  const list = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
  assert.deepEqual(list.data.map((m: any) => [m.id, m.status, m.loaded]), [['tiny', 'loaded', true]]);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:cache_config_info', 'vllm:time_to_first_token_seconds_bucket', 'inferstack_local_model_cold_start_seconds_count']) {
    assert.ok(text.includes(name), name);
  }
  assert.match(text, /vllm:cache_config_info\{model_name="tiny",block_size="1",num_gpu_blocks="512"\} 1/);
  const slots = (await (await fetch(`${server.url}/slots`)).json()) as any;
  assert.equal(slots[0].model, 'tiny');
  assert.deepEqual(slots[0].slots.map((s: any) => [s.id, s.state, s.n_ctx]), [[0, 'idle', 256], [1, 'idle', 256]]);
});

test("the gateway's scraper for engine type local reads the engine view from /metrics", async () => {
  const get = async (path: string) => {
    const r = await fetch(`${server.url}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const abort = new AbortController();
  const r = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'scrape me', max_tokens: 240, ignore_eos: true, stream: true }, abort.signal);
  const reader = r.body!.getReader();
  await reader.read(); // running now
  const m = (await scraperFor('local')!.scrape(get)) as { running: number; waiting: number; kvUsage: number; blockSize: number; numGpuBlocks: number };
  abort.abort();
  assert.equal(m.running, 1);
  assert.equal(m.waiting, 0);
  assert.ok(m.kvUsage > 0 && m.kvUsage < 1, `kvUsage ${m.kvUsage}`);
  assert.equal(m.blockSize, 1);
  assert.equal(m.numGpuBlocks, 512);
  await eventually(() => server.registry.status()[0]!.stats!.running === 0);
});

test('/metrics renders the counters again after a request finishes (their text is cached between events)', async () => {
  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
  const before = await scrape();
  assert.equal(await scrape(), before, 'nothing happened between two scrapes of an idle engine');
  const count = (text: string) => Number(/vllm:generation_tokens_total\{model_name="tiny"\} (\d+)/.exec(text)?.[1] ?? 0);
  const r = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'count me', max_tokens: 5, ignore_eos: true });
  assert.equal(r.status, 200);
  const after = await scrape();
  assert.equal(count(after), count(before) + 5);
  assert.match(after, /vllm:num_requests_running\{model_name="tiny"\} 0/);
});
