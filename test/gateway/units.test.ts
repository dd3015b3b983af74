// Small pieces on their own: the admission queue, upstream error normalisation, request ids, logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseUpstreamError } from '../../src/http/upstream-error.ts';
import { requestIdOf } from '../../src/gateway/request-id.ts';
import { createLogger } from '../../src/gateway/logger.ts';
import { startGateway } from '../../src/gateway/server.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, poolOf, postJson } from './fixtures/helpers.ts';

test('upstream errors: OpenAI, vLLM, FastAPI, plain-text and empty bodies all become the OpenAI shape', () => {
  const cases: [number, string, object][] = [
    [400, JSON.stringify({ error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'c1' } }), { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'c1' }],
    [400, JSON.stringify({ object: 'error', message: 'vllm says no', type: 'BadRequestError', param: null, code: 400 }), { message: 'vllm says no', type: 'BadRequestError', param: null, code: null }],
    [422, JSON.stringify({ detail: 'field required' }), { message: 'field required', type: 'invalid_request_error', param: null, code: null }],
    [503, 'Service Unavailable', { message: 'Service Unavailable', type: 'service_unavailable_error', param: null, code: null }],
    [500, '', { message: 'upstream returned HTTP 500', type: 'server_error', param: null, code: null }],
    [429, JSON.stringify({ error: 'slow down' }), { message: 'slow down', type: 'rate_limit_error', param: null, code: null }],
  ];
  for (const [status, body, expected] of cases) {
    const e = normaliseUpstreamError(status, Buffer.from(body));
    assert.equal(e.status, status);
    assert.deepEqual(e.body().error, expected, body);
  }
});

test('request ids: a sane client id is kept, anything else is replaced', () => {
  const req = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as import('node:http').IncomingMessage;
  assert.equal(requestIdOf(req('abc-123_x.y:z')), 'abc-123_x.y:z');
  for (const bad of [undefined, '', 'has space', 'x'.repeat(200), 'new\nline']) assert.match(requestIdOf(req(bad)), /^[0-9a-f-]{36}$/);
});

test('JSON logs: one object per line with the request id; 5xx still logged at warn level', async (t) => {
  const lines: string[] = [];
  const engine = await startFakeEngine({ failStatus: 503 });
  const gw = await startGateway({ config: configFor([poolOf([engine.url])], { limits: { maxRetries: 0 } }), logger: createLogger('warn', (l) => lines.push(l)) });
  t.after(async () => { await gw.close(); await engine.close(); });
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: 'x' }] }, { 'x-request-id': 'log-1' })).status, 503);
  engine.options.failStatus = undefined;
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: 'x' }] })).status, 200);
  const logs = lines.map((l) => JSON.parse(l));
  const requests = logs.filter((l) => l.msg === 'request');
  assert.equal(requests.length, 1, 'the 200 is below the warn level');
  assert.deepEqual([requests[0].level, requests[0].requestId, requests[0].status], ['warn', 'log-1', 503]);
  assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
});
