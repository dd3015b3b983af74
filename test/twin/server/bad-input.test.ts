// Bad requests get vLLM's status and error shape, and the server keeps serving everyone else.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { TwinServer } from '../../../src/twin/server/index.ts';
import { MODEL, post, raw, startTestTwin, until } from './helpers.ts';

let twin: TwinServer;

before(async () => {
  twin = await startTestTwin({ maxModelLen: 2048, maxBodyBytes: 64 * 1024 });
});
after(() => twin.close());

function assertVllmError(r: { status: number; json(): any; headers: Record<string, unknown> }, status: number, message: RegExp): void {
  assert.equal(r.status, status);
  const body = r.json();
  assert.equal(body.error.code, status);
  assert.equal(typeof body.error.type, 'string');
  assert.match(body.error.message, message);
  assert.equal(r.headers['x-inferstack-simulated'], 'true');
}

async function stillServing(): Promise<void> {
  const r = await post(twin.url, '/v1/completions', { model: MODEL, prompt: 'ok?', max_tokens: 2 });
  assert.equal(r.status, 200);
}

test('invalid JSON, empty body and a non-object body are 400', async () => {
  assertVllmError(await raw(twin.url, 'POST', '/v1/chat/completions', '{"model": '), 400, /not valid JSON/);
  assertVllmError(await raw(twin.url, 'POST', '/v1/completions', ''), 400, /empty/);
  assertVllmError(await raw(twin.url, 'POST', '/v1/completions', '[1,2]'), 400, /JSON object/);
  await stillServing();
});

test('wrong types name the parameter', async () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['/v1/completions', { model: MODEL, prompt: 42 }, /'prompt'/],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 'ten' }, /'max_tokens' must be an integer/],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 0 }, /'max_tokens' must be at least 1/],
    ['/v1/completions', { model: MODEL, prompt: 'x', temperature: 'hot' }, /'temperature'/],
    ['/v1/completions', { model: MODEL, prompt: 'x', stream: 'yes' }, /'stream' must be a boolean/],
    ['/v1/completions', { model: MODEL, prompt: 'x', stop: [1] }, /'stop'/],
    ['/v1/completions', { model: MODEL, prompt: 'x', stop: Array.from({ length: 65 }, (_, i) => `s${i}`) }, /at most 64 strings/],
    ['/v1/completions', { model: MODEL, prompt: 'x', n: 100 }, /'n' must be at most/],
    ['/v1/completions', { model: MODEL, prompt: 'x', stream_options: { include_usage: true } }, /stream=True/],
    ['/v1/completions', { model: MODEL, prompt: [1, -2] }, /'prompt'/],
    ['/v1/completions', { model: MODEL, prompt: [999999999999] }, /'prompt'|out of vocabulary/],
    ['/v1/completions', { prompt: 'x' }, /'model' is required/],
    ['/v1/chat/completions', { model: MODEL, messages: 'hi' }, /'messages'/],
    ['/v1/chat/completions', { model: MODEL, messages: [{ content: 'no role' }] }, /role/],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }, /text/],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], top_p: 'high' }, /'top_p'/],
  ];
  for (const [path, body, message] of cases) {
    const r = await post(twin.url, path, body);
    assertVllmError(r, 400, message);
    assert.ok(r.json().error.param === null || typeof r.json().error.param === 'string');
  }
  await stillServing();
});

test('unknown model is 404; unknown route 404; wrong method 405', async () => {
  assertVllmError(await post(twin.url, '/v1/completions', { model: 'gpt-9', prompt: 'x' }), 404, /The model `gpt-9` does not exist/);
  assertVllmError(await raw(twin.url, 'GET', '/v1/nothing'), 404, /no route/);
  assertVllmError(await raw(twin.url, 'GET', '/v1/completions'), 405, /POST/);
  await stillServing();
});

test('a prompt longer than the context window is 400, with and without max_tokens', async () => {
  const long = 'word '.repeat(2100);
  assertVllmError(await post(twin.url, '/v1/completions', { model: MODEL, prompt: long }), 400, /maximum context length is 2048 tokens/);
  assertVllmError(await post(twin.url, '/v1/completions', { model: MODEL, prompt: 'short', max_tokens: 2048 }), 400, /maximum context length/);
  assertVllmError(await post(twin.url, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: long }] }), 400, /maximum context length/);
  await stillServing();
});

test('an oversize body is 413, whether declared or streamed without a length', async () => {
  const big = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(100 * 1024) });
  assertVllmError(await raw(twin.url, 'POST', '/v1/completions', big), 413, /larger than the limit/);
  // Chunked upload with no content-length: the limit applies as bytes arrive.
  const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(new URL('/v1/completions', twin.url), { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write('x'.repeat(10 * 1024));
    req.end();
  });
  assert.equal(chunked.status, 413);
  assert.equal(JSON.parse(chunked.text).error.code, 413);
  await stillServing();
});

test('tokenize answers vLLM shape; bad tokenize input is 400', async () => {
  const r = await post(twin.url, '/tokenize', { model: MODEL, prompt: 'hello world' });
  assert.equal(r.status, 200);
  const body = r.json();
  assert.equal(body.count, body.tokens.length);
  assert.equal(body.max_model_len, 2048);
  const chat = await post(twin.url, '/tokenize', { model: MODEL, messages: [{ role: 'user', content: 'hello world' }] });
  assert.ok(chat.json().count > body.count);
  const back = await post(twin.url, '/detokenize', { tokens: body.tokens });
  assert.match(back.json().prompt, /hello world/);
  assertVllmError(await post(twin.url, '/tokenize', { prompt: 7 }), 400, /prompt/);
  assertVllmError(await post(twin.url, '/detokenize', { tokens: [-1] }), 400, /tokens/);
});

test('a client that disconnects mid-stream has its request aborted in the core', async () => {
  const slow = await startTestTwin({ timing: 'model' });
  try {
    await new Promise<void>((resolve, reject) => {
      const req = request(new URL('/v1/completions', slow.url), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          assert.equal(slow.stats().inFlight, 1);
          req.destroy(); // hang up after the first chunk
          resolve();
        });
      });
      req.on('error', () => { /* expected after destroy */ });
      req.end(JSON.stringify({ model: MODEL, prompt: 'tell me a long story', max_tokens: 30000, stream: true, ignore_eos: true }));
      setTimeout(() => reject(new Error('no first chunk')), 5000).unref();
    });
    await until(() => slow.stats().inFlight === 0, 'the aborted request to leave the core');
    assert.equal(slow.stats().running, 0);
    assert.equal(slow.stats().kvUsage, 0);
  } finally {
    await slow.close();
  }
});

test('close() ends a streaming request in flight and resolves', async () => {
  const t = await startTestTwin({ timing: 'model' });
  try {
    const done = raw(t.url, 'POST', '/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 30000, stream: true }));
    await until(() => t.stats().inFlight === 1, 'the request to start');
    await t.close();
    const r = await done;
    assert.equal(r.status, 200);
    assert.match(r.text, /"finish_reason":"abort"/);
    assert.match(r.text, /data: \[DONE\]\n\n$/);
  } finally {
    await t.close();
  }
});
