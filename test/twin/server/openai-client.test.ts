// The official openai npm client against a live twin: what real applications will do.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import type { TwinServer } from '../../../src/twin/server/index.ts';
import { MODEL, startTestTwin } from './helpers.ts';

let twin: TwinServer;
let client: OpenAI;

before(async () => {
  twin = await startTestTwin({ maxModelLen: 4096 });
  client = new OpenAI({ baseURL: `${twin.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => twin.close());

test('lists the served model', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
});

test('non-streamed chat completion: text, usage and the simulated marker', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Say hello.' }], max_completion_tokens: 7 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.system_fingerprint, 'inferstack-twin-simulated');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0]!.message.role, 'assistant');
  assert.ok(r.choices[0]!.message.content!.length > 0);
  assert.equal(r.choices[0]!.finish_reason, 'length');
  assert.equal(r.usage!.completion_tokens, 7);
  assert.ok(r.usage!.prompt_tokens > 3);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + 7);
});

test('streamed chat completion with include_usage: role first, text deltas, finish, then a usage-only chunk', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Count to five.' }], max_tokens: 5, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.ok(text.length > 0);
  const finish = chunks.find((c) => c.choices[0]?.finish_reason);
  assert.equal(finish!.choices[0]!.finish_reason, 'length');
  const last = chunks.at(-1)!;
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage!.completion_tokens, 5);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === undefined || c.usage === null));
});

test('completions: streamed and non-streamed agree on usage', async () => {
  const plain = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6 });
  assert.equal(plain.object, 'text_completion');
  assert.equal(plain.usage!.completion_tokens, 6);
  const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage;
  for await (const c of stream) {
    text += c.choices[0]?.text ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.ok(text.length > 0);
  assert.equal(usage!.completion_tokens, 6);
  assert.equal(usage!.prompt_tokens, plain.usage!.prompt_tokens);
});

test('the repeated prompt is served from the prefix cache (cached_tokens in usage)', async () => {
  const prompt = 'A long shared system prompt that spans several KV blocks. '.repeat(12);
  await client.completions.create({ model: MODEL, prompt, max_tokens: 2 });
  const again = await client.completions.create({ model: MODEL, prompt, max_tokens: 2 });
  const details = (again.usage as unknown as { prompt_tokens_details: { cached_tokens: number } }).prompt_tokens_details;
  assert.ok(details.cached_tokens >= 16, `cached ${details.cached_tokens}`);
  assert.equal(details.cached_tokens % 16, 0);
});

test('n > 1 gives n distinct choices; stop strings end a choice with finish_reason stop', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'List words:', max_tokens: 12, n: 3 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.usage!.completion_tokens, 36);
  assert.ok(new Set(r.choices.map((c) => c.text)).size > 1, 'choices are separate sequences');
  // The filler draws from ~36 common words, so ' the' or ' of' appears within 300 tokens
  // except with probability (34/36)^300, about 4e-8.
  const stops = [' the', ' of'];
  for (const stream of [false, true]) {
    let text = '';
    let finish: string | null = null;
    let stopReason: unknown;
    let tokens = 0;
    if (stream) {
      const s = await client.completions.create({ model: MODEL, prompt: 'Stop test', max_tokens: 300, stop: stops, stream: true, stream_options: { include_usage: true } });
      for await (const c of s) {
        text += c.choices[0]?.text ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
        stopReason = (c.choices[0] as unknown as { stop_reason?: unknown } | undefined)?.stop_reason ?? stopReason;
        if (c.usage) tokens = c.usage.completion_tokens;
      }
    } else {
      const r = await client.completions.create({ model: MODEL, prompt: 'Stop test', max_tokens: 300, stop: stops });
      text = r.choices[0]!.text;
      finish = r.choices[0]!.finish_reason;
      stopReason = (r.choices[0] as unknown as { stop_reason: unknown }).stop_reason;
      tokens = r.usage!.completion_tokens;
    }
    assert.equal(finish, 'stop', `stream=${stream}`);
    assert.ok(stops.includes(stopReason as string));
    assert.ok(!text.includes(' the') && !text.includes(' of'), `stop text leaked: ${text}`);
    assert.ok(tokens >= 1 && tokens < 300);
  }
});

test('errors surface as APIError with the status vLLM uses', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => err instanceof APIError && err.status === 404 && /does not exist/.test(err.message),
  );
  await assert.rejects(
    client.completions.create({ model: MODEL, prompt: 'word '.repeat(5000), max_tokens: 10 }),
    (err: unknown) => err instanceof APIError && err.status === 400 && /maximum context length is 4096/.test(err.message),
  );
  await assert.rejects(
    client.completions.create({ model: MODEL, prompt: 'hi', max_tokens: 10, logprobs: 2 }),
    (err: unknown) => err instanceof APIError && err.status === 400 && /simulated/.test(err.message),
  );
});
