import { test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { startGateway } from '../../src/gateway/server.ts';
import { silentLogger } from '../../src/gateway/logger.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, gatewayFor, poolOf, postJson, readSse } from './fixtures/helpers.ts';

const chat = { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] };

test('chat completion is proxied with the request id passed up and returned', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const r = await postJson(`${gw.url}/v1/chat/completions`, chat, { 'x-request-id': 'req-abc-1' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'req-abc-1');
  assert.equal(r.json.choices[0].message.content, 'tok0 tok1 tok2 tok3 tok4 ');
  assert.equal(engine.seen[0]!.headers['x-request-id'], 'req-abc-1');
  // Without one, the gateway makes one and still passes it up.
  const r2 = await postJson(`${gw.url}/v1/chat/completions`, chat);
  assert.match(r2.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
  assert.equal(engine.seen[1]!.headers['x-request-id'], r2.headers.get('x-request-id'));
});

test('streaming relays every chunk and the final usage chunk', async (t) => {
  const engine = await startFakeEngine({ tokens: 4 });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...chat, stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^text\/event-stream/);
  const events = await readSse(r);
  assert.equal(events.at(-1), '[DONE]');
  const usage = JSON.parse(events.at(-2)!);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 4);
  const content = events.slice(0, -2).map((e) => JSON.parse(e).choices[0].delta.content ?? '').join('');
  assert.equal(content, 'tok0 tok1 tok2 tok3 ');
  assert.deepEqual((engine.seen[0]!.body.stream_options as object), { include_usage: true });
});

test('completions and embeddings are proxied', async (t) => {
  const engine = await startFakeEngine({ tokens: 2 });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const c = await postJson(`${gw.url}/v1/completions`, { model: 'fake-model', prompt: 'once upon' });
  assert.equal(c.status, 200);
  assert.equal(c.json.choices[0].text, 'tok0 tok1 ');
  const e = await postJson(`${gw.url}/v1/embeddings`, { model: 'fake-model', input: 'hi' });
  assert.equal(e.status, 200);
  assert.equal(e.json.data[0].embedding.length, 3);
  assert.deepEqual(engine.seen.map((s) => s.path), ['/v1/completions', '/v1/embeddings']);
});

test('bad input gets the OpenAI error shape with the right status', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url], {}, { limits: { maxBodyBytes: 1000 } });
  t.after(async () => { await gw.close(); await engine.close(); });
  const cases: [unknown, number, string | null][] = [
    ['{not json', 400, null],
    [[1, 2], 400, null],
    [{ messages: [] }, 400, 'model'],
    [{ model: 'fake-model' }, 400, 'messages'],
    [{ model: 'fake-model', messages: [{ content: 'x' }] }, 400, 'messages[0].role'],
    [{ ...chat, stream: 'yes' }, 400, 'stream'],
    [{ ...chat, max_tokens: -1 }, 400, 'max_tokens'],
    [{ ...chat, model: 'nope' }, 404, 'model'],
    [{ ...chat, pad: 'x'.repeat(2000) }, 413, null],
  ];
  for (const [body, status, param] of cases) {
    const r = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(r.status, status, JSON.stringify(body).slice(0, 60));
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(typeof r.json.error.type, 'string');
    assert.equal(r.json.error.param, param);
    assert.ok('code' in r.json.error);
  }
  const unknown = await fetch(`${gw.url}/v2/whatever`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as any).error.code, 'not_found');
  const wrongMethod = await fetch(`${gw.url}/v1/chat/completions`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(engine.seen.length, 0, 'nothing invalid reached the engine');
});

test('API keys: 401 without or with a wrong key, 200 with a right one', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url], {}, { apiKeys: ['sk-test-123456'] });
  t.after(async () => { await gw.close(); await engine.close(); });
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 401);
  const wrong = await postJson(`${gw.url}/v1/chat/completions`, chat, { authorization: 'Bearer sk-wrong-000000' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.code, 'invalid_api_key');
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat, { authorization: 'Bearer sk-test-123456' })).status, 200);
  assert.equal((await fetch(`${gw.url}/v1/models`)).status, 401);
  assert.equal(engine.seen.length, 1);
  assert.equal(engine.seen[0]!.headers.authorization, undefined, "the client's key never goes upstream");
});

test("an engine's error is normalised (vLLM's numeric code) and keeps its status", async (t) => {
  const engine = await startFakeEngine({ failStatus: 400 });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const r = await postJson(`${gw.url}/v1/chat/completions`, chat);
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { error: { message: 'fake engine failure 400', type: 'BadRequestError', param: null, code: null } });
});

test('/v1/models aggregates every pool; /health, /ready and /metrics answer', async (t) => {
  const a = await startFakeEngine({ models: ['m-a'] });
  const b = await startFakeEngine({ models: ['m-b'] });
  const config = configFor([
    poolOf([a.url], { name: 'a', models: ['m-a'], adapters: ['m-a-lora'] }),
    poolOf([b.url], { name: 'b', models: ['m-b'] }),
  ]);
  const gw = await startGateway({ config, logger: silentLogger() });
  t.after(async () => { await gw.close(); await a.close(); await b.close(); });
  const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as any;
  assert.deepEqual(models.data.map((m: any) => m.id).sort(), ['m-a', 'm-a-lora', 'm-b']);
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  const ready = (await (await fetch(`${gw.url}/ready`)).json()) as any;
  assert.equal(ready.ready, true);
  await postJson(`${gw.url}/v1/chat/completions`, { model: 'm-b', messages: [{ role: 'user', content: 'x' }] });
  const lora = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm-a-lora', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(lora.status, 404, 'the fake engine has no such adapter; its 404 is relayed');
  assert.equal(a.seen[0]!.body.model, 'm-a-lora');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`inferstack_gateway_requests_total\\{model="m-b",endpoint="${b.url}",status="200"\\} 1`));
  assert.match(metrics, /inferstack_gateway_routing_decisions_total\{pool="b"/);
  assert.match(metrics, /inferstack_gateway_e2e_request_latency_seconds_count\{model="m-b"\} 1/);
});

test('malformed HTTP and bodies cut off mid-upload never take the gateway down', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const { port } = new URL(gw.url);
  const raw = (payload: string) =>
    new Promise<string>((resolve) => {
      const s = connect(Number(port), '127.0.0.1', () => s.end(payload));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
  const cases = [
    'GARBAGE\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model":', // body cut short
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull',
  ];
  const answers = await Promise.all(cases.map(raw));
  assert.match(answers[4]!, /^HTTP\/1\.1 400/);
  assert.match(answers[4]!, /must be a JSON object/);
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
});

test("an endpoint's own API key goes upstream as its bearer token, never the client's key", async (t) => {
  const engine = await startFakeEngine();
  const pool = poolOf([engine.url]);
  pool.endpoints[0]!.apiKey = 'sk-engine-own';
  const gw = await startGateway({ config: configFor([pool], { apiKeys: ['sk-client'] }), logger: silentLogger() });
  t.after(async () => { await gw.close(); await engine.close(); });
  const r = await postJson(`${gw.url}/v1/chat/completions`, chat, { authorization: 'Bearer sk-client', 'x-request-id': 'req-key-1' });
  assert.equal(r.status, 200);
  const seen = engine.seen.find((s) => s.path === '/v1/chat/completions')!;
  assert.equal(seen.headers.authorization, 'Bearer sk-engine-own');
  assert.equal(seen.headers['x-request-id'], 'req-key-1');
  assert.equal(seen.headers['content-type'], 'application/json');
});
