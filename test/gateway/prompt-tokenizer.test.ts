// A pool's prompt tokenizer, live: twin PROCESSES run a model tokenizer of their own (a tiny
// word-level tokenizer.json with a chat template, written here) and publish KV events keyed by its
// token ids. Without the pool's `tokenizer` the gateway's built-in ids never match those blocks;
// with `source: file` (the same tokenizer.json) or `source: engine` (the twins' /tokenize) the
// gateway's ids are the twin's own, the precise index finds the whole prefix, the repeat lands on
// the twin that holds it, and the prompt length is counted instead of estimated. A tokenizer that
// fails (an engine without /tokenize) routes on estimates and is counted, never failing a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { PoolConfig } from '../../src/gateway/config.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { writeTinyTokenizer } from '../helpers/tiny-tokenizer.ts';
import { PromptTokenizer } from '../../src/gateway/prompt-tokenizer.ts';
import type { EndpointRuntime } from '../../src/engines/endpoint.ts';
import { silentLogger } from '../../src/gateway/logger.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { configFor, gatewayFor, metricSum, postJson, recordDecisions, spawnTwin, stopProcess } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

const MODEL = 'llama-3.1-8b';
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];
const TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}assistant :{% endif %}";

/** A user message of `n` vocabulary words, different for each `seed`. */
function document(seed: number, n = 400): string {
  return Array.from({ length: n }, (_, i) => WORDS[(i * (seed + 3) + seed) % WORDS.length]).join(' ');
}

test('pool tokenizer live: the gateway keys prompts with the twins\' own tokenizer (file or engine), and without it finds nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-pool-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizerPath = writeTinyTokenizer(dir, { extraWords: WORDS, chatTemplate: TEMPLATE });
  const twins = await Promise.all([0, 1].map(() => spawnTwin(['--tokenizer', tokenizerPath, '--kv-events', 'tcp://127.0.0.1:*', '--kv-events-replay', 'tcp://127.0.0.1:*'])));
  t.after(() => Promise.all(twins.map(stopProcess)));

  let warmups = 0;
  /** One gateway over the twins with `tokenizer`: asks one chat prompt twice, returns what it saw. */
  const run = async (seed: number, tokenizer: PoolConfig['tokenizer']) => {
    const gw = await gatewayFor([], {
      models: [MODEL],
      policy: 'llm-d-precise',
      ...(tokenizer ? { tokenizer } : {}),
      endpoints: twins.map((tw) => ({ url: tw.url, engine: 'twin', kvEvents: tw.kvEvents! })),
    });
    try {
      const pool = gw.state().pools[0]!;
      const ids = pool.endpoints.map((e) => e.id);
      // PUB/SUB drops what is published before the subscription is up: warm each twin until heard.
      // (Each warm-up prompt is new to the twin: a cached one publishes nothing.)
      for (const [i, tw] of twins.entries()) {
        await until(`KV events from twin ${i}`, async () => {
          await postJson(`${tw.url}/v1/completions`, { model: MODEL, prompt: `${WORDS[warmups++ % WORDS.length]} ${WORDS[Math.floor(warmups / WORDS.length) % WORDS.length]} ${document(seed, 40)}`, max_tokens: 1 });
          await sleep(20);
          return (await metricSum(gw.url, 'inferstack_gateway_kv_events_total', { endpoint: ids[i]! })) > 0;
        });
      }
      const seen = recordDecisions(pool);
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: document(seed) }];
      const ask = async () => {
        const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 2 });
        return { cached: r.usage!.prompt_tokens_details?.cached_tokens ?? 0, promptTokens: r.usage!.prompt_tokens, ...seen.at(-1)! };
      };
      const first = await ask();
      // The twin's own tokenization of the same messages, and the blocks its events name.
      const twinTokens = (await postJson(`${twins[0]!.url}/tokenize`, { model: MODEL, messages })).json.tokens as number[];
      const twinKeys = hashBlocks(twinTokens, 16);
      const on = ids.indexOf(first.decision.endpoints[0]!.id);
      // Past the speculative entries' 2 s TTL: only blocks the twins' events confirmed count.
      const confirmed = (keys: readonly bigint[]) => pool.kvFeed.index.matchedBlocks(keys, ids, performance.now() / 1000 + 60);
      await until('the serving twin\'s events', () => confirmed(twinKeys)[on] === twinKeys.length);
      const second = await ask();
      const outcomes = Object.fromEntries(
        await Promise.all(['tokenized', 'cache_hit', 'failed'].map(async (o) => [o, await metricSum(gw.url, 'inferstack_gateway_prompt_tokenizations_total', { outcome: o })])),
      );
      return { first, second, twinTokens, twinKeys, on, ids, confirmed, outcomes };
    } finally {
      await gw.close();
    }
  };

  const none = await run(1, undefined);
  assert.ok(none.twinKeys.length >= 25, `a prompt of ${none.twinKeys.length} full blocks`);
  assert.notDeepEqual(none.second.request.promptTokenIds, none.twinTokens, 'the built-in tokenizer is not the model\'s');
  // Only the gateway's own speculative entries (2 s) stand for its keys: no event ever confirms them.
  assert.deepEqual(none.confirmed(hashBlocks(none.second.request.promptTokenIds!, 16)), [0, 0], 'built-in keys match none of the twins\' blocks');
  assert.equal(none.second.request.promptTokens, Math.ceil(none.second.request.promptText!.length / 4), 'the length is the 4-characters estimate');
  assert.notEqual(none.second.request.promptTokens, none.twinTokens.length);

  for (const [seed, tokenizer] of [[2, { source: 'file', path: tokenizerPath }], [3, { source: 'engine' }]] as const) {
    const r = await run(seed, tokenizer);
    const what = tokenizer.source;
    assert.deepEqual([...r.first.request.promptTokenIds!], r.twinTokens, `${what}: the gateway's ids are the twin's`);
    assert.equal(r.first.request.promptTokens, r.twinTokens.length, `${what}: the length is counted`);
    assert.equal(r.first.promptTokens, r.twinTokens.length, `${what}: as the twin reports it`);
    assert.equal(r.first.decision.predictedCachedTokens, 0, `${what}: a fresh prompt`);
    assert.equal(r.second.decision.endpoints[0]!.id, r.ids[r.on], `${what}: the repeat goes to the twin holding it`);
    assert.equal(r.second.decision.predictedCachedTokens, r.twinKeys.length * 16, `${what}: the whole prefix predicted cached`);
    assert.ok(r.second.cached >= (r.twinKeys.length - 1) * 16, `${what}: the twin served ${r.second.cached} tokens from its cache`);
    assert.deepEqual(r.outcomes, { tokenized: 1, cache_hit: 1, failed: 0 }, `${what}: the repeat is a cache hit`);
  }
});

test('pool tokenizer: an engine without /tokenize fails over to estimates, counted, and the request is served', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url], { policy: 'llm-d-precise', tokenizer: { source: 'engine', timeoutMs: 1000 } });
  t.after(async () => { await gw.close(); await engine.close(); });
  for (let i = 0; i < 2; i++) {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(await metricSum(gw.url, 'inferstack_gateway_prompt_tokenizations_total', { outcome: 'failed' }), 2);
  assert.equal(await metricSum(gw.url, 'inferstack_gateway_prompt_tokenize_seconds_count', { pool: 'p' }), 2, 'each failed try is timed');
  // A prompt given as token ids needs no tokenizer.
  const ids = await postJson(`${gw.url}/v1/completions`, { model: 'fake-model', prompt: [5, 6, 7], max_tokens: 2 });
  assert.equal(ids.status, 200, ids.text);
  assert.equal(await metricSum(gw.url, 'inferstack_gateway_prompt_tokenizations_total', { outcome: 'skipped' }), 1);
});

test('pool tokenizer: config errors name the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-pool-tok-'));
  try {
    const path = writeTinyTokenizer(dir);
    writeFileSync(join(dir, 'broken.jinja'), '{% for %}');
    const pool = (tokenizer: unknown, engine = 'vllm') => () =>
      configFor([{ name: 'p', models: ['m'], tokenizer, endpoints: [{ url: 'http://127.0.0.1:1', engine }] } as unknown as PoolConfig]);
    assert.equal(pool({ source: 'file', path })().pools[0]!.tokenizer?.source, 'file');
    assert.throws(pool({ source: 'file' }), /pools\[0\]\.tokenizer\.path: required/);
    assert.throws(pool({ source: 'file', path: join(dir, 'missing.json') }), /pools\[0\]\.tokenizer: cannot read tokenizer\.json/);
    assert.throws(pool({ source: 'file', path, chatTemplate: join(dir, 'none.jinja') }), /pools\[0\]\.tokenizer\.chatTemplate: cannot read/);
    assert.throws(pool({ source: 'file', path, chatTemplate: join(dir, 'broken.jinja') }), /pools\[0\]\.tokenizer: chat template does not parse/);
    assert.throws(pool({ source: 'file', path, timeoutMs: 5 }), /tokenizer\.timeoutMs: only for source engine/);
    assert.throws(pool({ source: 'engine', path }), /tokenizer\.path: only for source file/);
    assert.throws(pool({ source: 'engine' }, 'sglang'), /tokenizer\.source: engine needs an endpoint that serves \/tokenize/);
    assert.throws(pool({ source: 'hub' }), /tokenizer\.source: must be one of file, engine/);
    assert.throws(pool({ source: 'file', path, colour: 1 }), /tokenizer\.colour: unknown key/);
    assert.throws(pool({ source: 'builtin', path }), /tokenizer\.path: only for source file/);
    // The default: vLLM engines that publish KV events are asked (their events key blocks by the
    // model's own ids); engines without events, or twins, keep the built-in tokenizer; `builtin` opts out.
    const defaulted = (engine: string, tokenizer?: unknown, kvEvents: unknown = { endpoint: 'tcp://127.0.0.1:5557' }) =>
      configFor([{ name: 'p', models: ['m'], ...(tokenizer ? { tokenizer } : {}), endpoints: [{ url: 'http://127.0.0.1:1', engine, ...(kvEvents ? { kvEvents } : {}) }] } as unknown as PoolConfig]).pools[0]!.tokenizer;
    assert.deepEqual(defaulted('vllm'), { source: 'engine', byDefault: true });
    assert.equal(defaulted('vllm', undefined, null), undefined);
    assert.equal(defaulted('twin'), undefined);
    assert.deepEqual(defaulted('vllm', { source: 'builtin' }), { source: 'builtin' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pool tokenizer (file): chat rendered with the model\'s template and special tokens as vLLM applies them; cached; batches skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-pool-tok-'));
  try {
    const path = writeTinyTokenizer(dir, { chatTemplate: TEMPLATE });
    const outcomes: string[] = [];
    const tokenizer = new PromptTokenizer({ poolName: 'p', source: { local: createTokenizer({ tokenizerJsonPath: path }) }, logger: silentLogger(), onOutcome: (o) => outcomes.push(o) });
    const ids = async (kind: 'chat' | 'completions', body: Record<string, unknown>) => (await tokenizer.tokenize(kind, 'm', body))?.ids;
    const chat = { messages: [{ role: 'user', content: 'hi' }] };
    // chat: the template's own BOS and no second one; completions: BOS added (vLLM's defaults).
    assert.deepEqual(await ids('chat', chat), [0, 8, 11, 12, 9, 11]);
    assert.deepEqual(await ids('chat', { ...chat, add_generation_prompt: false }), [0, 8, 11, 12]);
    assert.deepEqual(await ids('completions', { prompt: 'hello world' }), [0, 3, 4]);
    assert.deepEqual(await ids('chat', structuredClone(chat)), [0, 8, 11, 12, 9, 11]);
    assert.deepEqual(await ids('completions', { prompt: [7, 8] }), [7, 8], 'token ids are the prompt');
    assert.equal(await ids('completions', { prompt: ['hello', 'world'] }), undefined, 'a batch is estimated');
    const image = { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'http://127.0.0.1:1/x.png' } }] }] };
    assert.equal(await ids('chat', image), undefined, 'so is an image, which only the engine can count');
    assert.deepEqual(await ids('chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }), [0, 8, 11, 12, 9, 11], 'text parts are text');
    assert.deepEqual(outcomes, ['tokenized', 'tokenized', 'tokenized', 'cache_hit', 'skipped', 'skipped', 'skipped', 'tokenized']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pool tokenizer (builtin): a twin without --tokenizer gets its own ids and the counted length, in this process', async (t) => {
  const twin = await startTwinServer({ model: MODEL, gpu: 'h100', timing: 'instant', log: () => {} });
  const gw = await gatewayFor([], { models: [MODEL], policy: 'llm-d-precise', tokenizer: { source: 'builtin' }, endpoints: [{ url: twin.url, engine: 'twin' }] });
  t.after(async () => { await gw.close(); await twin.close(); });
  const seen = recordDecisions(gw.state().pools[0]!);
  const messages = [{ role: 'user', content: 'Prompt lengths are counted, not estimated, with the twin\'s own tokenizer.' }];
  const r = await postJson(`${gw.url}/v1/chat/completions`, { model: MODEL, messages, max_tokens: 1 });
  assert.equal(r.status, 200, r.text);
  const twinTokens = (await postJson(`${twin.url}/tokenize`, { model: MODEL, messages })).json.tokens as number[];
  const { request } = seen[0]!;
  assert.deepEqual([...request.promptTokenIds!], twinTokens);
  assert.equal(request.promptTokens, r.json.usage.prompt_tokens);
  assert.notEqual(request.promptTokens, Math.ceil(request.promptText!.length / 4), 'not the estimate');
});

test('pool tokenizer (engine): identical prompts in flight share one call; an engine that times out is left alone for a while, a 4xx is not held against it', async () => {
  let calls = 0;
  let mode: 'hang' | 'ok' | '404' = 'ok';
  const engine = {
    id: 'http://engine',
    view: { healthy: true },
    upstream: {
      postJson: (_path: string, _body: unknown, _headers: unknown, signal: AbortSignal) => {
        calls++;
        if (mode === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out'))));
        if (mode === '404') return Promise.resolve({ status: 404, body: Buffer.from('{}') });
        return new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: Buffer.from('{"tokens":[1,2,3]}') }), 20));
      },
    },
  } as unknown as EndpointRuntime;
  const tokenizer = new PromptTokenizer({ poolName: 'p', source: { engines: [engine], timeoutMs: 100 }, logger: silentLogger() });
  const ask = (prompt: string) => tokenizer.tokenize('completions', 'm', { prompt });
  const [x, y] = await Promise.all([ask('same'), ask('same')]);
  assert.deepEqual([x?.ids, y?.ids, calls], [[1, 2, 3], [1, 2, 3], 1], 'one call for both');

  mode = '404';
  assert.equal(await ask('refused'), undefined);
  mode = 'ok';
  assert.deepEqual((await ask('next'))?.ids, [1, 2, 3], 'a 4xx was about that request only');

  mode = 'hang';
  const t0 = performance.now();
  assert.equal(await ask('slow'), undefined, 'the timeout fails this request to estimates');
  assert.ok(performance.now() - t0 >= 90);
  const before = calls;
  mode = 'ok';
  assert.equal(await ask('after'), undefined, 'the engine is cooling down: no call, so no wait');
  assert.equal(calls, before);
});
