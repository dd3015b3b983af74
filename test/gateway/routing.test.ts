// The gateway feeds the scheduler a view built from scraped engine metrics and its own in-flight
// accounting, and asks it for every request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, gatewayFor, poolOf, postJson, recordDecisions } from './fixtures/helpers.ts';
import { createLogger } from '../../src/gateway/logger.ts';
import { startGateway } from '../../src/gateway/server.ts';

const chat = { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] };

test('least-load routes away from an engine whose scraped metrics say it is busy', async (t) => {
  const busy = await startFakeEngine({ metrics: { waiting: 40, running: 60, kvUsage: 0.5 } });
  const idle = await startFakeEngine({ metrics: { waiting: 0, running: 0, kvUsage: 0.1 } });
  const gw = await gatewayFor([busy.url, idle.url], { policy: 'least-load' });
  t.after(async () => { await gw.close(); await busy.close(); await idle.close(); });
  const views = gw.state().pools[0]!.endpoints.map((e) => e.view);
  for (let i = 0; i < 100 && views.some((v) => v.metrics.scrapedAt === undefined); i++) await sleep(20);
  assert.deepEqual(views[0]!.metrics.waiting, 40);
  assert.deepEqual(views[0]!.metrics.numGpuBlocks, 1000);
  for (let i = 0; i < 10; i++) assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
  assert.equal(busy.seen.length, 0);
  assert.equal(idle.seen.length, 10);
});

test('round-robin spreads requests; in-flight accounting returns to zero', async (t) => {
  const a = await startFakeEngine();
  const b = await startFakeEngine();
  const gw = await gatewayFor([a.url, b.url], { policy: 'round-robin' });
  t.after(async () => { await gw.close(); await a.close(); await b.close(); });
  await Promise.all(Array.from({ length: 10 }, () => postJson(`${gw.url}/v1/chat/completions`, { ...chat, stream: true })));
  assert.deepEqual([a.seen.length, b.seen.length], [5, 5]);
  for (const e of gw.state().pools[0]!.endpoints) assert.deepEqual(e.view.inflight, { requests: 0, promptTokens: 0, predictedBlocks: 0, pendingPrefillTokens: 0, pendingPrefillRequests: 0 });
});

test('the scheduler sees the rendered prompt, token estimate, session token, cache salt and priority', async (t) => {
  const engine = await startFakeEngine();
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const pool = gw.state().pools[0]!;
  const seen = recordDecisions(pool);
  await postJson(`${gw.url}/v1/chat/completions`, { ...chat, cache_salt: 'tenant-1', priority: -2, max_tokens: 9 }, { 'x-session-token': 'sess-9', 'x-request-id': 'r-1' });
  const r = seen[0]!.request;
  assert.equal(r.id, 'r-1');
  assert.equal(r.promptText, '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(r.promptTokens, Math.ceil(r.promptText!.length / 4), 'estimated without tokenizing');
  assert.ok(r.promptTokenIds!.length > 0, 'token ids are there for policies that read them');
  assert.ok(Math.abs(r.promptTokenIds!.length - r.promptTokens) <= r.promptTokens, 'the estimate is the right size');
  assert.deepEqual([r.sessionToken, r.cacheSalt, r.priority, r.maxTokens], ['sess-9', 'tenant-1', -2, 9]);
});

test('inferstack without KV events keeps prefix affinity past the speculative TTL: it learns from its own decisions', async (t) => {
  const engines = await Promise.all([0, 1, 2, 3].map(() => startFakeEngine({ tokens: 1 })));
  const gw = await gatewayFor(engines.map((e) => e.url), { policy: 'inferstack' });
  t.after(async () => { await gw.close(); await Promise.all(engines.map((e) => e.close())); });
  const pool = gw.state().pools[0]!;
  const seen = recordDecisions(pool);
  const picks = () => seen.splice(0).map((s) => s.decision.endpoints[0]!.id);
  const prompts = Array.from({ length: 12 }, (_, i) => `Document ${i}: ${'a long shared context that stays the same. '.repeat(40)}`);
  const ask = async (content: string) => assert.equal((await postJson(`${gw.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content }] })).status, 200);
  for (const p of prompts) await ask(p);
  const first = picks();
  await sleep(2_200); // past the precise index's 2 s speculative entries, which no event confirms here
  for (const p of prompts) await ask(p);
  assert.deepEqual(picks(), first, 'every repeated prompt goes back to the endpoint that has it');
  assert.ok(new Set(first).size >= 3, `distinct prompts spread: ${new Set(first).size} endpoints`);
});

test('a policy that reads KV events, in a pool without any, is named in a warning at start', async (t) => {
  const engine = await startFakeEngine();
  const lines: string[] = [];
  const start = (policy: string) => startGateway({ config: configFor([poolOf([engine.url], { policy })]), logger: createLogger('info', (l) => lines.push(l)) });
  const gws = [await start('dynamo'), await start('inferstack')];
  t.after(async () => { await Promise.all(gws.map((g) => g.close())); await engine.close(); });
  const warnings = lines.filter((l) => l.includes('reads KV events'));
  assert.equal(warnings.length, 1, lines.join('\n'));
  assert.match(warnings[0]!, /"policy":"dynamo"/);
});
