// Multi-model lifecycle through the server: cold start, LRU unloading under a memory budget, idle
// unload, requests waiting (bounded) for a load, loading not blocking other models, bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { startLocalEngineServer } from '../../../src/engines/local/index.ts';
import { validateGgufFile } from '../../../src/trust/gguf.ts';
import { estimateModelBytes } from '../../../src/engines/local/model-memory.ts';
import { eventually, metric, post, tempModels } from './helpers.ts';

const SMALL = { contextSize: 128, parallelSequences: 1, threads: 1 } as const;
const ask = (url: string, model: string, maxTokens = 3) => post(`${url}/v1/completions`, { model, prompt: 'hi', max_tokens: maxTokens, ignore_eos: true });
const states = async (url: string) =>
  Object.fromEntries(((await (await fetch(`${url}/v1/models`)).json()) as any).data.map((m: any) => [m.id, m.status]));

test('cold start on first request, timed and exported; no reload while loaded', async (t) => {
  const m = await tempModels({ a: {} });
  t.after(() => m.cleanup());
  const s = await startLocalEngineServer({ models: [{ name: 'a', path: m.paths.a! }], ...SMALL });
  t.after(() => s.close());
  assert.deepEqual(await states(s.url), { a: 'unloaded' });
  assert.equal((await ask(s.url, 'a')).status, 200);
  assert.equal((await ask(s.url, 'a')).status, 200);
  assert.deepEqual(await states(s.url), { a: 'loaded' });
  assert.equal(await metric(s.url, 'inferstack_local_model_cold_start_seconds_count{model_name="a"}'), 1);
  const sum = await metric(s.url, 'inferstack_local_model_cold_start_seconds_sum{model_name="a"}');
  assert.ok(sum !== undefined && sum > 0);
});

test('a memory budget for two of three models unloads the least recently used idle one', async (t) => {
  const m = await tempModels({ a: { seed: 1 }, b: { seed: 2 }, c: { seed: 3 } });
  t.after(() => m.cleanup());
  const one = estimateModelBytes(await validateGgufFile(m.paths.a!), SMALL.contextSize, SMALL.parallelSequences);
  const s = await startLocalEngineServer({
    models: ['a', 'b', 'c'].map((name) => ({ name, path: m.paths[name]! })),
    memoryBudgetBytes: Math.floor(one * 2.5),
    ...SMALL,
  });
  t.after(() => s.close());
  for (const name of ['a', 'b']) assert.equal((await ask(s.url, name)).status, 200);
  assert.deepEqual(await states(s.url), { a: 'loaded', b: 'loaded', c: 'unloaded' });
  assert.equal((await ask(s.url, 'c')).status, 200); // a is least recently used
  assert.deepEqual(await states(s.url), { a: 'unloaded', b: 'loaded', c: 'loaded' });
  assert.equal((await ask(s.url, 'b')).status, 200); // touch b: now c is the LRU
  assert.equal((await ask(s.url, 'a')).status, 200);
  assert.deepEqual(await states(s.url), { a: 'loaded', b: 'loaded', c: 'unloaded' });
  assert.equal(await metric(s.url, 'inferstack_local_model_unloads_total{model_name="a",reason="memory"}'), 1);
  assert.equal(await metric(s.url, 'inferstack_local_model_unloads_total{model_name="c",reason="memory"}'), 1);
  assert.ok(s.registry.memoryUsedBytes <= one * 2.5);
});

test('a load waits for a busy model to finish rather than unloading it mid-request', async (t) => {
  const m = await tempModels({ a: { seed: 1 }, b: { seed: 2 } });
  t.after(() => m.cleanup());
  const one = estimateModelBytes(await validateGgufFile(m.paths.a!), SMALL.contextSize, SMALL.parallelSequences);
  const s = await startLocalEngineServer({ models: ['a', 'b'].map((name) => ({ name, path: m.paths[name]! })), memoryBudgetBytes: Math.floor(one * 1.5), ...SMALL });
  t.after(() => s.close());
  const long = ask(s.url, 'a', 100);
  await eventually(() => s.registry.status()[0]!.stats?.running === 1);
  const second = await ask(s.url, 'b');
  assert.equal(second.status, 200);
  const first = (await (await long).json()) as any;
  assert.equal(first.usage.completion_tokens, 100, 'the busy model finished its request');
  assert.deepEqual(await states(s.url), { a: 'unloaded', b: 'loaded' });
});

test('idle timeout unloads (scale to zero) and the next request loads again', async (t) => {
  const m = await tempModels({ a: {} });
  t.after(() => m.cleanup());
  const s = await startLocalEngineServer({ models: [{ name: 'a', path: m.paths.a! }], idleTimeoutMs: 100, ...SMALL });
  t.after(() => s.close());
  assert.equal((await ask(s.url, 'a')).status, 200);
  await eventually(async () => (await states(s.url)).a === 'unloaded');
  assert.equal(await metric(s.url, 'inferstack_local_model_unloads_total{model_name="a",reason="idle"}'), 1);
  assert.equal((await ask(s.url, 'a')).status, 200);
  assert.equal(await metric(s.url, 'inferstack_local_model_cold_start_seconds_count{model_name="a"}'), 2);
});

test('requests wait for a loading model (bounded) while other models keep serving', async (t) => {
  const m = await tempModels({ a: { seed: 1 }, b: { seed: 2 } });
  t.after(() => m.cleanup());
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const s = await startLocalEngineServer({
    models: ['a', 'b'].map((name) => ({ name, path: m.paths[name]! })),
    maxLoadWaiters: 2,
    beforeLoad: (model) => (model === 'b' ? gate : Promise.resolve()),
    ...SMALL,
  });
  t.after(() => s.close());
  const waiting = [ask(s.url, 'b'), ask(s.url, 'b')];
  await eventually(() => s.registry.loadWaiters('b') === 2);
  assert.deepEqual(await states(s.url), { a: 'unloaded', b: 'loading' });
  assert.equal(await metric(s.url, 'vllm:num_requests_waiting{model_name="b"}'), 2);
  const over = await ask(s.url, 'b');
  assert.equal(over.status, 503);
  assert.match(((await over.json()) as any).error.message, /'b' is loading and 2 requests already wait/);
  // Model a loads and answers while b's load is still held.
  assert.equal((await ask(s.url, 'a')).status, 200);
  assert.deepEqual(await states(s.url), { a: 'loaded', b: 'loading' });
  openGate();
  for (const r of await Promise.all(waiting)) assert.equal(r.status, 200);
});

test('a malformed GGUF is refused before llama.cpp reads it, at startup and at load', async (t) => {
  const m = await tempModels({ good: {}, bad: {} });
  t.after(() => m.cleanup());
  // Corrupt the tensor count of one file: the header now claims far more tensors than fit.
  const fh = await open(m.paths.bad!, 'r+');
  await fh.write(Buffer.from([0xff, 0xff, 0x00, 0x00]), 0, 4, 8);
  await fh.close();
  await assert.rejects(
    startLocalEngineServer({ models: [{ name: 'bad', path: m.paths.bad! }], ...SMALL }),
    /model 'bad' .*invalid GGUF: tensor count 65535 cannot fit/,
  );
  await assert.rejects(startLocalEngineServer({ models: [{ name: 'x', path: '/nonexistent/x.gguf' }], ...SMALL }), /ENOENT/);

  // A file that turns bad after startup is caught when it is loaded.
  const s = await startLocalEngineServer({ models: [{ name: 'good', path: m.paths.good! }], ...SMALL });
  t.after(() => s.close());
  await writeFile(m.paths.good!, Buffer.from('GGUF\x03\x00\x00\x00'));
  const r = await ask(s.url, 'good');
  assert.equal(r.status, 500);
  assert.match(((await r.json()) as any).error.message, /the model 'good' failed validation: invalid GGUF: tensor count needs 8 bytes/);
  assert.deepEqual(await states(s.url), { good: 'unloaded' });
});

test('models without a usable chat template serve completions; chat gets a 400 saying why', async (t) => {
  const m = await tempModels({ none: { chatTemplate: null }, broken: { chatTemplate: '{% for m in messages %}' } });
  t.after(() => m.cleanup());
  const s = await startLocalEngineServer({ models: ['none', 'broken'].map((name) => ({ name, path: m.paths[name]! })), ...SMALL });
  t.after(() => s.close());
  for (const [name, message] of [['none', /has no chat template/], ['broken', /chat template does not parse/]] as const) {
    const chat = await post(`${s.url}/v1/chat/completions`, { model: name, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.status, 400);
    assert.match(((await chat.json()) as any).error.message, message);
    assert.equal((await ask(s.url, name)).status, 200);
  }
});
