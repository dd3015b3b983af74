// LocalModelEngine directly: parallel sequences batched in one context, the bounded wait queue,
// cancellation while waiting, ignore_eos.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getLlamaRuntime } from '../../../src/engines/local/llama-runtime.ts';
import { LocalModelEngine, AbortedError } from '../../../src/engines/local/engine.ts';
import { tempModels } from './helpers.ts';

let models: Awaited<ReturnType<typeof tempModels>>;
let engine: LocalModelEngine;

before(async () => {
  models = await tempModels({ tiny: { seed: 3 } });
  engine = await LocalModelEngine.load(await getLlamaRuntime(), models.paths.tiny!, { contextSize: 256, parallelSequences: 2, threads: 1, maxWaiting: 2 });
});

after(async () => {
  await engine?.dispose();
  await models?.cleanup();
});

test('requests beyond the sequences wait, run as sequences free, and each gets its own tokens', async () => {
  let maxRunning = 0;
  let maxWaiting = 0;
  const observe = () => {
    const s = engine.stats();
    maxRunning = Math.max(maxRunning, s.running);
    maxWaiting = Math.max(maxWaiting, s.waiting);
    assert.ok(s.kvUsedTokens <= s.kvCapacityTokens);
  };
  const prompts = ['one', 'two', 'three', 'four'].map((t) => engine.tokenizeText(t));
  const results = await Promise.all(prompts.map((p, i) => engine.generate({ promptTokens: p, maxTokens: 10 + i, ignoreEos: true, seed: i, onText: observe })));
  assert.equal(maxRunning, 2, 'both sequences of the context ran at once');
  assert.equal(maxWaiting, 2, 'the other two requests waited');
  assert.deepEqual(results.map((r) => r.completionTokens), [10, 11, 12, 13]);
  assert.ok(results[3]!.queueSeconds > 0);
  assert.deepEqual(engine.stats().running, 0);
});

test('the wait queue is bounded: one request too many gets a 429', async () => {
  const p = engine.tokenizeText('queue');
  const running = [0, 1, 2, 3].map((i) => engine.generate({ promptTokens: p, maxTokens: 5, ignoreEos: true, seed: i }));
  await assert.rejects(engine.generate({ promptTokens: p, maxTokens: 5 }), (err: any) => err.status === 429 && /2 requests already wait/.test(err.message));
  await Promise.all(running);
});

test('a waiting request that is cancelled leaves the queue without taking a sequence', async () => {
  const p = engine.tokenizeText('busy');
  const running = [0, 1].map((i) => engine.generate({ promptTokens: p, maxTokens: 20, ignoreEos: true, seed: i }));
  const abort = new AbortController();
  const waiting = engine.generate({ promptTokens: p, maxTokens: 5, signal: abort.signal });
  assert.equal(engine.stats().waiting, 1);
  abort.abort();
  await assert.rejects(waiting, AbortedError);
  assert.equal(engine.stats().waiting, 0);
  await Promise.all(running);
});

test('ignore_eos always reaches max_tokens, even at a high temperature', async () => {
  const p = engine.tokenizeText('x');
  for (let seed = 0; seed < 20; seed++) {
    const r = await engine.generate({ promptTokens: p, maxTokens: 40, ignoreEos: true, seed, temperature: 1.5 });
    assert.equal(r.completionTokens, 40);
    assert.equal(r.finishReason, 'length');
  }
});

test('without a seed, identical requests sample differently; with one, identically', async () => {
  const p = engine.tokenizeText('same prompt');
  const unseeded = await Promise.all([0, 1].map(() => engine.generate({ promptTokens: p, maxTokens: 20, ignoreEos: true })));
  assert.notEqual(unseeded[0]!.text, unseeded[1]!.text);
  const seeded = await Promise.all([0, 1].map(() => engine.generate({ promptTokens: p, maxTokens: 20, ignoreEos: true, seed: 9 })));
  assert.equal(seeded[0]!.text, seeded[1]!.text);
});
