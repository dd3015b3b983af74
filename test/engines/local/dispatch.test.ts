// The local engine called in-process (the path a gateway in the same process takes): undici's
// handler API without a socket, with real llama.cpp compute on a generated model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { startLocalEngineServer, engineView, type LocalEngineServer } from '../../../src/engines/local/index.ts';
import { inProcessEngine, collect, type InProcessRequest } from '../../../src/engines/in-process.ts';
import { scraperFor } from '../../../src/engines/scrapers/index.ts';
import { eventually, post, sseEvents, tempModels } from './helpers.ts';

let models: Awaited<ReturnType<typeof tempModels>>;
let server: LocalEngineServer;

before(async () => {
  models = await tempModels({ tiny: { seed: 11 } });
  server = await startLocalEngineServer({ models: [{ name: 'tiny', path: models.paths.tiny! }], parallelSequences: 1, contextSize: 256, threads: 1, maxBodyBytes: 4096 });
});

after(async () => {
  await server?.close();
  await models?.cleanup();
});

/** Records what the engine delivers; `steer` may steer the controller (pause, abort). */
class Recorder implements Dispatcher.DispatchHandler {
  status = 0;
  headers: Record<string, unknown> = {};
  chunks: Buffer[] = [];
  events: string[] = [];
  error: Error | undefined;
  controller!: Dispatcher.DispatchController;
  readonly done: Promise<void>;
  private settle!: () => void;
  private readonly steer: ((r: Recorder) => void) | undefined;
  constructor(steer?: (r: Recorder) => void) {
    this.steer = steer;
    this.done = new Promise((resolve) => (this.settle = resolve));
  }
  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    this.events.push('start');
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, unknown>): void {
    this.status = status;
    this.headers = headers;
    this.events.push('headers');
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.steer?.(this);
  }
  onResponseEnd(): void {
    this.events.push('end');
    this.settle();
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.error = err;
    this.events.push('error');
    this.settle();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const completion = (extra: Record<string, unknown>): InProcessRequest => ({
  method: 'POST',
  path: '/v1/completions',
  body: Buffer.from(JSON.stringify({ model: 'tiny', prompt: 'in process', ignore_eos: true, seed: 3, ...extra })),
});

function send(req: InProcessRequest, handler: Recorder): Recorder {
  server.inProcess.dispatch(req, handler);
  return handler;
}

const stats = () => server.registry.status()[0]!.stats!;

test('the server registers the engine under its URL; the stream equals the HTTP stream with the same seed', async () => {
  assert.equal(inProcessEngine(server.url), server.inProcess);
  assert.equal(inProcessEngine(`${server.url}/`), server.inProcess, 'a trailing slash names the same engine');
  const r = send(completion({ max_tokens: 12, stream: true, stream_options: { include_usage: true } }), new Recorder());
  await r.done;
  assert.deepEqual(r.events, ['start', 'headers', 'end']);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /text\/event-stream/);
  assert.ok(r.chunks.length >= 12, `one chunk per event (${r.chunks.length})`);
  const events = sseEvents(r.text) as any[];
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.at(-2).usage.completion_tokens, 12);

  const http = await post(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'in process', ignore_eos: true, seed: 3, max_tokens: 12, stream: true, stream_options: { include_usage: true } });
  const textOf = (evs: any[]) => evs.filter((e) => e !== '[DONE]' && e.choices.length > 0).map((e) => e.choices[0].text).join('');
  assert.equal(textOf(events), textOf(sseEvents(await http.text()) as any[]));
});

test('errors before the first byte are whole JSON responses in the engine error shape', async () => {
  const cases: [InProcessRequest, number, RegExp][] = [
    [completion({ model: 'nope' }), 404, /'nope' does not exist/],
    [{ method: 'POST', path: '/v1/completions', body: Buffer.from('{not json') }, 400, /not valid JSON/],
    [{ method: 'POST', path: '/v1/completions', body: null }, 400, /empty/],
    [{ method: 'POST', path: '/v1/completions', body: 'x'.repeat(5000) }, 413, /larger than the limit of 4096 bytes/],
    [{ method: 'DELETE', path: '/v1/completions' }, 405, /not allowed/],
    [{ method: 'GET', path: '/nowhere' }, 404, /no route/],
  ];
  for (const [req, status, message] of cases) {
    const r = send(req, new Recorder());
    await r.done;
    assert.equal(r.status, status, JSON.stringify(req.path));
    assert.deepEqual(r.events, ['start', 'headers', 'end']);
    const err = JSON.parse(r.text).error;
    assert.match(err.message, message);
    assert.equal(err.code, status);
  }
});

test('GETs (probes, /metrics) answer in-process; the engine view equals what the scraper reads from /metrics', async () => {
  const health = await collect(server.inProcess, { method: 'GET', path: '/health' }, 1024);
  assert.equal(health.status, 200);
  // A running request, so the numbers are not all zero.
  const r = send(completion({ max_tokens: 200, stream: true }), new Recorder((rec) => rec.chunks.length === 3 && rec.controller.pause()));
  await eventually(() => r.chunks.length >= 3);
  const text = (await collect(server.inProcess, { method: 'GET', path: '/metrics' }, 1 << 20)).body.toString('utf8');
  const scraped = await scraperFor('local')!.scrape(async () => ({ status: 200, text }));
  assert.deepEqual(server.inProcess.metrics(), scraped);
  assert.equal(scraped.running, 1);
  assert.ok(scraped.kvUsage! > 0);
  r.controller.abort(new Error('test done'));
  await r.done;
  await eventually(() => stats().running === 0);
  // Nothing loaded: waiting and running only, as the scraper reads them.
  assert.deepEqual(engineView([{ name: 'x', state: 'unloaded', estimateBytes: 1, stats: undefined }], () => 2), { waiting: 2, running: 0 });
});

test('pause holds generation (the sequence waits, nothing queues up); resume finishes the stream', async () => {
  const r = send(completion({ max_tokens: 40, stream: true, stream_options: { include_usage: true } }), new Recorder((rec) => rec.chunks.length === 2 && rec.controller.pause()));
  await eventually(() => r.chunks.length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 150)); // time enough for many tokens
  assert.equal(r.chunks.length, 2, 'no chunk is delivered while paused');
  assert.equal(stats().running, 1, 'the request holds its sequence while its reader is paused');
  const kept = stats().kvUsedTokens;
  assert.ok(kept < 40, `generation stopped at the pause (${kept} tokens in KV)`);
  r.controller.resume();
  await r.done;
  assert.deepEqual(r.events, ['start', 'headers', 'end']);
  const events = sseEvents(r.text) as any[];
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.at(-2).usage.completion_tokens, 40, 'generation went on to max_tokens after resume');
  assert.equal(events.at(-3).choices[0].finish_reason, 'length');
});

test('abort frees the sequence at the next token; the error arrives once, after the caller returns', async () => {
  let abortedInside = false;
  const r = send(completion({ max_tokens: 200, stream: true }), new Recorder((rec) => {
    if (rec.chunks.length !== 3) return;
    rec.controller.abort(new Error('client left'));
    abortedInside = rec.events.at(-1) !== 'error'; // not delivered re-entrantly
  }));
  await r.done;
  assert.ok(abortedInside);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(r.events, ['start', 'headers', 'error']);
  assert.equal(r.error!.message, 'client left');
  assert.equal(r.chunks.length, 3, 'nothing is delivered after abort');
  await eventually(() => stats().running === 0);
  assert.ok(stats().kvCachedTokens < 100, `generation stopped early (${stats().kvCachedTokens} tokens kept)`);
});

test('headersTimeout: a request still waiting for a sequence fails with undici\'s timeout error and leaves the queue', async () => {
  const busy = send(completion({ max_tokens: 200, stream: true }), new Recorder((rec) => rec.chunks.length === 2 && rec.controller.pause()));
  await eventually(() => busy.chunks.length >= 2);
  const waiting = send({ ...completion({ max_tokens: 2 }), headersTimeout: 50 }, new Recorder());
  await waiting.done;
  assert.equal((waiting.error as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
  await eventually(() => stats().waiting === 0);
  busy.controller.abort(new Error('done'));
  await busy.done;
  await eventually(() => stats().running === 0);
  const after = send(completion({ max_tokens: 2 }), new Recorder());
  await after.done;
  assert.equal(after.status, 200, 'the engine keeps serving');
});

test('close() unregisters the engine', async () => {
  const other = await startLocalEngineServer({ models: [{ name: 'tiny', path: models.paths.tiny! }], parallelSequences: 1, contextSize: 64, threads: 1 });
  assert.equal(inProcessEngine(other.url), other.inProcess);
  await other.close();
  assert.equal(inProcessEngine(other.url), undefined);
});
