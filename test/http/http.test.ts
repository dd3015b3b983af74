// The shared OpenAI HTTP pieces (src/http), each on a real node:http server on loopback: errors in
// both styles, the bounded body reader, JSON/SSE replies, and the request-field parsing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, OPENAI_ERRORS, VLLM_ERRORS, asApiError, badRequest } from '../../src/http/api-error.ts';
import { readJsonObject } from '../../src/http/body.ts';
import { listen } from '../../src/http/listen.ts';
import { replyWithError, sendError, sendJson } from '../../src/http/respond.ts';
import { endSse, startSse, writeSse } from '../../src/http/sse.ts';
import { parseSamplingParams, type SamplingLimits } from '../../src/http/sampling-params.ts';
import { MAX_MESSAGES, parseMessages, parseModel, parsePrompts } from '../../src/http/prompt-input.ts';

// One server; each test swaps in the handler under test. Errors thrown by a handler are replied
// the way the twin and the local engine reply them.
type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
let handler: Handler = () => {};
let server: Server;
let url: string;

before(async () => {
  server = createServer((req, res) => {
    (async () => handler(req, res))().catch((err: unknown) => replyWithError(res, asApiError(err, 'test server'), VLLM_ERRORS));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
}

/** A request with full control over the body: a string goes with its content-length, a list of parts chunked. */
function send(body: string | string[], headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const length = typeof body === 'string' ? { 'content-length': String(Buffer.byteLength(body)) } : {};
    const req = request(url, { method: 'POST', headers: { ...length, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    for (const part of Array.isArray(body) ? body : [body]) req.write(part);
    req.end();
  });
}

const echoBody = (limit: number): Handler => async (req, res) => sendJson(res, 200, await readJsonObject(req, limit));

test('ApiError: OpenAI style (gateway) and vLLM style (twin) from one error', () => {
  const err = badRequest("'n' must be at least 1", 'n');
  assert.deepEqual(err.body(OPENAI_ERRORS), { error: { message: "'n' must be at least 1", type: 'invalid_request_error', param: 'n', code: 'invalid_value' } });
  assert.deepEqual(err.body(VLLM_ERRORS), { error: { message: "'n' must be at least 1", type: 'BadRequestError', param: 'n', code: 400 } });
  assert.deepEqual(new ApiError(405, 'no').body(VLLM_ERRORS).error.type, 'MethodNotAllowed');
  assert.deepEqual(new ApiError(500, 'x').body(VLLM_ERRORS).error.type, 'InternalServerError');
  assert.equal(new ApiError(500, 'x').type, 'server_error');
  // A type the thrower names wins over either style's table.
  const named = new ApiError(500, 'bad file', { type: 'model_load_error' });
  assert.equal(named.body(VLLM_ERRORS).error.type, 'model_load_error');
  assert.equal(named.body({ ...OPENAI_ERRORS, numericCode: true }).error.code, 500);
  // Anything else thrown is a 500 naming where it failed; an ApiError passes through as it is.
  assert.equal(asApiError(new TypeError('boom'), 'local engine').message, 'local engine: boom');
  assert.equal(asApiError(err, 'x'), err);
});

test('body: JSON objects are read; empty, invalid and non-object bodies are 400s that say which', async () => {
  handler = echoBody(1024);
  const ok = await send('{"model":"m","n":2}');
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.text), { model: 'm', n: 2 });
  for (const [body, message] of [['', /empty/], ['{"model": ', /not valid JSON/], ['[1,2]', /must be a JSON object/], ['null', /must be a JSON object/]] as const) {
    const r = await send(body);
    assert.equal(r.status, 400, body);
    const error = JSON.parse(r.text).error;
    assert.match(error.message, message);
    assert.equal(error.code, 400);
  }
});

test('body: over the limit is 413, by content-length or while a chunked body arrives, and the connection closes', async () => {
  handler = echoBody(1024);
  const declared = await send('x'.repeat(2000));
  assert.equal(declared.status, 413);
  assert.match(JSON.parse(declared.text).error.message, /request body of 2000 bytes is larger than the limit of 1024 bytes/);
  assert.equal(declared.headers.connection, 'close');
  const chunked = await send(Array.from({ length: 8 }, () => 'y'.repeat(512)));
  assert.equal(chunked.status, 413);
  assert.match(JSON.parse(chunked.text).error.message, /request body is larger than the limit of 1024 bytes/);
  // The server still serves.
  assert.equal((await send('{}')).status, 200);
});

test('body: a client that hangs up mid-upload settles the read (no request left hanging) and the server serves on', async () => {
  let settled: ApiError | undefined;
  handler = async (req) => {
    try {
      await readJsonObject(req, 1024);
    } catch (err) {
      settled = err as ApiError;
    }
  };
  const req = request(url, { method: 'POST' });
  req.on('error', () => { /* expected: we hang up */ });
  req.write('{"model": "m", "pro');
  await new Promise((resolve) => setTimeout(resolve, 50));
  req.destroy();
  for (let i = 0; i < 100 && !settled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(settled?.status, 400);
  assert.match(settled.message, /could not be read/);
  handler = echoBody(1024);
  assert.equal((await send('{}')).status, 200);
});

test('sendError: request id, extra headers, and x-should-retry only where a retry cannot help', async () => {
  const cases: Array<[ApiError, string | undefined]> = [
    [new ApiError(429, 'busy', { headers: { 'retry-after': '1' } }), 'req-1'],
    [new ApiError(500, 'bug'), undefined],
    [new ApiError(503, 'closing'), undefined],
  ];
  const replies: Reply[] = [];
  for (const [err, requestId] of cases) {
    handler = (_req, res) => sendError(res, err, requestId);
    replies.push(await send('{}'));
  }
  assert.deepEqual(replies.map((r) => r.status), [429, 500, 503]);
  assert.equal(replies[0]!.headers['retry-after'], '1');
  assert.equal(replies[0]!.headers['x-request-id'], 'req-1');
  assert.deepEqual(JSON.parse(replies[0]!.text).error, { message: 'busy', type: 'rate_limit_error', param: null, code: null });
  assert.deepEqual(replies.map((r) => r.headers['x-should-retry']), [undefined, 'false', undefined]);
});

test('SSE: events framed as data lines, [DONE] last; an error after the status is the last event', async () => {
  handler = (_req, res) => {
    startSse(res);
    writeSse(res, { n: 1 });
    writeSse(res, { n: 2 });
    endSse(res);
    writeSse(res, { n: 3 }); // after the end: dropped, not thrown
  };
  const r = await send('{}');
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  assert.equal(r.text, 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');

  handler = (_req, res) => {
    startSse(res);
    writeSse(res, { n: 1 });
    throw new ApiError(503, 'the model was unloaded');
  };
  const failed = await send('{}');
  assert.equal(failed.status, 200);
  assert.equal(failed.text, 'data: {"n":1}\n\ndata: {"error":{"message":"the model was unloaded","type":"ServiceUnavailableError","param":null,"code":503}}\n\ndata: [DONE]\n\n');
});

const LIMITS: SamplingLimits = { maxN: 4, maxStops: 2, maxStopLength: 8, maxTemperature: 2 };

/** The ApiError a parse throws, to check its status, message and param. */
function rejection(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    return err;
  }
  assert.fail('expected a 400');
}

test('sampling params: defaults, both max-token names on chat, stop normalised, seed and stream options', () => {
  assert.deepEqual(parseSamplingParams({}, 'completion', LIMITS), {
    maxTokens: undefined, stop: [], temperature: undefined, topP: undefined, seed: undefined, n: 1, stream: false, includeUsage: false, ignoreEos: false,
  });
  const chat = parseSamplingParams(
    { max_tokens: 5, max_completion_tokens: 7, stop: ['a', ''], temperature: 0, top_p: 1, seed: -3, n: 4, stream: true, stream_options: { include_usage: true }, ignore_eos: true, top_k: 'unknown fields are ignored' },
    'chat',
    LIMITS,
  );
  assert.deepEqual(chat, { maxTokens: 7, stop: ['a'], temperature: 0, topP: 1, seed: -3, n: 4, stream: true, includeUsage: true, ignoreEos: true });
  // Completions have no max_completion_tokens (vLLM ignores it there).
  assert.equal(parseSamplingParams({ max_completion_tokens: 7 }, 'completion', LIMITS).maxTokens, undefined);
  assert.deepEqual(parseSamplingParams({ stop: 'end', stream: null }, 'completion', LIMITS).stop, ['end']);
});

test('sampling params: each wrong value is a 400 naming its field', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ max_tokens: 'ten' }, 'max_tokens', /'max_tokens' must be an integer, got "ten"/],
    [{ max_tokens: 0 }, 'max_tokens', /'max_tokens' must be at least 1, got 0/],
    [{ max_tokens: 1.5 }, 'max_tokens', /must be an integer/],
    [{ stop: [1] }, 'stop', /'stop' must be a string or a list of strings/],
    [{ stop: ['a', 'b', 'c'] }, 'stop', /at most 2 strings, got 3/],
    [{ stop: 'much too long' }, 'stop', /at most 8 characters/],
    [{ temperature: 'hot' }, 'temperature', /'temperature' must be a number/],
    [{ temperature: -1 }, 'temperature', /between 0 and 2/],
    [{ temperature: 2.5 }, 'temperature', /between 0 and 2/],
    [{ top_p: 0 }, 'top_p', /\(0, 1\]/],
    [{ top_p: 'high' }, 'top_p', /'top_p' must be a number/],
    [{ seed: 1.5 }, 'seed', /'seed' must be an integer/],
    [{ n: 5 }, 'n', /'n' must be at most 4 on this server, got 5/],
    [{ n: 0 }, 'n', /at least 1/],
    [{ stream: 'yes' }, 'stream', /'stream' must be a boolean/],
    [{ stream_options: { include_usage: true } }, 'stream_options', /stream=True/],
    [{ stream: true, stream_options: [] }, 'stream_options', /an object/],
    [{ stream: true, stream_options: { include_usage: 1 } }, 'include_usage', /a boolean/],
    [{ ignore_eos: 'no' }, 'ignore_eos', /a boolean/],
  ];
  for (const [body, param, message] of cases) {
    const err = rejection(() => parseSamplingParams(body, 'chat', LIMITS));
    assert.equal(err.status, 400, JSON.stringify(body));
    assert.equal(err.param, param, JSON.stringify(body));
    assert.match(err.message, message);
  }
  // A server that takes one choice says so; a server without a temperature cap takes any >= 0.
  assert.match(rejection(() => parseSamplingParams({ n: 2 }, 'chat', { ...LIMITS, maxN: 1 })).message, /'n' must be 1 on this server/);
  assert.equal(parseSamplingParams({ temperature: 7 }, 'chat', { ...LIMITS, maxTemperature: Infinity }).temperature, 7);
  assert.match(rejection(() => parseSamplingParams({ temperature: -1 }, 'chat', { ...LIMITS, maxTemperature: Infinity })).message, /non-negative/);
});

test('prompt input: model, messages with text parts joined, prompts as text, token ids or a bounded batch', () => {
  assert.equal(parseModel({ model: 'm' }), 'm');
  assert.match(rejection(() => parseModel({ model: '' })).message, /'model' is required/);
  assert.deepEqual(parseMessages({ messages: [{ role: 'system', content: null }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }), [
    { role: 'system', content: '' },
    { role: 'user', content: 'ab' },
  ]);
  const badMessages: Array<[unknown, string, RegExp]> = [
    ['hi', 'messages', /non-empty list/],
    [[], 'messages', /non-empty list/],
    [Array.from({ length: MAX_MESSAGES + 1 }, () => ({ role: 'user', content: 'x' })), 'messages', /at most 4096/],
    [[{ content: 'no role' }], 'messages[0].role', /'role'/],
    [[{ role: 'user', content: [{ type: 'image_url' }] }], 'messages[0].content', /text only/],
    [[{ role: 'user', content: 7 }], 'messages[0].content', /string or a list of text parts/],
  ];
  for (const [messages, param, message] of badMessages) {
    const err = rejection(() => parseMessages({ messages }));
    assert.equal(err.param, param);
    assert.match(err.message, message);
  }
  assert.deepEqual(parsePrompts({ prompt: 'hi' }, 4), ['hi']);
  assert.deepEqual(parsePrompts({ prompt: [1, 2] }, 4), [[1, 2]]);
  assert.deepEqual(parsePrompts({ prompt: ['a', [3]] }, 4), ['a', [3]]);
  for (const prompt of [42, [], [1, -2], [1.5], [['a']], null]) assert.match(rejection(() => parsePrompts({ prompt }, 4)).message, /'prompt' must be/);
  assert.match(rejection(() => parsePrompts({ prompt: ['a', 'b', 'c'] }, 2)).message, /at most 2 prompts per request on this server, got 3/);
  assert.match(rejection(() => parsePrompts({ prompt: ['a', 'b'] }, 1)).message, /one prompt per request/);
});

test('listen: the URL of the bound port; a port in use rejects rather than crashing', async () => {
  const other = createServer((_req, res) => sendJson(res, 200, { ok: true }));
  const { port, url: otherUrl } = await listen(other, 0, '127.0.0.1');
  try {
    assert.equal(otherUrl, `http://127.0.0.1:${port}`);
    assert.deepEqual(await (await fetch(otherUrl)).json(), { ok: true });
    await assert.rejects(listen(createServer(), port, '127.0.0.1'), /EADDRINUSE/);
  } finally {
    other.closeAllConnections();
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
