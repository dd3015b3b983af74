// Config pools of engine type `local` with GGUF paths: validation (errors name the key), the embedded
// engine started with the config's lifecycle settings behind the gateway, and `serve --config` with
// SIGHUP reload re-checking models against the lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyLlama } from '../../src/engines/local/tiny-model.ts';
import { ConfigError, parseConfigText } from '../../src/gateway/config.ts';
import { localModelsOf, openModelGate, startLocalEngine, verifyLocalModels } from '../../src/gateway/local-engine.ts';
import { silentLogger } from '../../src/gateway/logger.ts';
import { startGateway } from '../../src/gateway/server.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { formatLock, newLock } from '../../src/trust/lockfile.ts';
import { eventually } from '../engines/local/helpers.ts';
import { postJson, spawnServe } from './fixtures/helpers.ts';

async function models(names: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-local-pool-'));
  const paths: Record<string, string> = {};
  for (const [i, n] of names.entries()) {
    paths[n] = join(dir, `${n}.gguf`);
    await writeTinyLlama(paths[n], { seed: i + 1 });
  }
  const lock = join(dir, 'models.lock');
  writeFileSync(lock, formatLock(newLock(await Promise.all(names.map((n) => lockModel(paths[n]!, { name: n }))))));
  return { dir, paths, lock };
}

test('local endpoints: a path per pool or a models list; mistakes name the key', () => {
  const c = parseConfigText(
    `localEngine: {parallelSequences: 2, idleTimeoutMs: 0}
trust: {lock: my.lock, allowPickle: false}
pools:
  - {name: a, models: [a], endpoints: [{engine: local, path: a.gguf, maxConcurrency: 3}, {url: "http://127.0.0.1:1", engine: vllm}]}
  - {name: bc, models: [b, c], endpoints: [{engine: local, models: [{name: b, path: b.gguf}, {name: c, path: c.gguf}]}]}`,
    'cfg.yaml',
  );
  assert.deepEqual(c.pools[0]!.local, [{ name: 'a', path: 'a.gguf' }]);
  assert.deepEqual(c.pools[0]!.endpoints, [{ url: 'http://127.0.0.1:1', engine: 'vllm' }], 'only engines reached by url stay endpoints');
  assert.deepEqual(c.pools[1]!.endpoints, []);
  assert.deepEqual(c.pools[0]!.localEndpoint, { maxConcurrency: 3 }, 'the local endpoint keeps its own options');
  assert.deepEqual(localModelsOf(c).map((m) => m.name), ['a', 'b', 'c']);
  assert.deepEqual(c.localEngine, { parallelSequences: 2, idleTimeoutMs: 0 });
  assert.deepEqual(c.trust, { lock: 'my.lock', allowUnpinned: false, allowPickle: false });

  const pool = (models: string, endpoint: string) => `pools: [{name: p, models: [${models}], endpoints: [${endpoint}]}]`;
  const bad: [string, RegExp][] = [
    [pool('m', '{engine: vllm, path: m.gguf}'), /pools\[0\]\.endpoints\[0\]\.path: only for engine local/],
    [pool('m', '{engine: local}'), /pools\[0\]\.endpoints\[0\]\.url: required key is missing \(or path: a GGUF file/],
    [pool('m', '{engine: vllm}'), /pools\[0\]\.endpoints\[0\]\.url: required key is missing$/],
    [pool('m', '{engine: local, url: "http://x", path: m.gguf}'), /pools\[0\]\.endpoints\[0\]: give one of url, path or models/],
    [pool('m, n', '{engine: local, path: m.gguf}'), /pools\[0\]\.endpoints\[0\]\.path: the pool serves 2 models/],
    [pool('m', '{engine: local, models: [{name: x, path: x.gguf}]}'), /pools\[0\]\.endpoints\[0\]\.models: 'x' is not in the pool's models/],
    [pool('m, n', '{engine: local, models: [{name: m, path: m.gguf}]}'), /pools\[0\]\.endpoints\[0\]\.models: model 'n' needs exactly one file, got 0/],
    [pool('m', '{engine: local, path: a.gguf}, {engine: local, path: b.gguf}'), /pools\[0\]\.endpoints\[1\]: a pool has at most one local endpoint/],
    [pool('m', '{engine: local, path: a.gguf, apiKey: k}'), /pools\[0\]\.endpoints\[0\]\.apiKey: not for a model file served in this process/],
    [`localEngine: {parallelSequences: 0}\n${pool('m', '{engine: local, path: m.gguf}')}`, /localEngine\.parallelSequences: must be >= 1/],
    [`localEngine: {memoryBudget: 5}\n${pool('m', '{engine: local, path: m.gguf}')}`, /localEngine\.memoryBudget: unknown key/],
    [`trust: {allowUnpinned: "yes"}\n${pool('m', '{engine: local, path: m.gguf}')}`, /trust\.allowUnpinned: must be boolean/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseConfigText(text, 'cfg.yaml'), (err: Error) => err instanceof ConfigError && re.test(err.message), text);
  }
});

test('local pools: one embedded engine with the config settings, behind the gateway', async (t) => {
  const m = await models(['a', 'b']);
  const config = parseConfigText(
    `listeners: [{host: 127.0.0.1, port: 0}]
localEngine: {parallelSequences: 2, contextSize: 128, threads: 1, idleTimeoutMs: 3000}
trust: {lock: "${m.lock}"}
pools:
  - {name: a, models: [a], endpoints: [{engine: local, path: "${m.paths.a}"}]}
  - {name: b, models: [b], endpoints: [{engine: local, models: [{name: b, path: "${m.paths.b}"}]}]}`,
    'cfg.yaml',
  );
  const gate = await openModelGate(config.trust);
  const verified = await verifyLocalModels(gate, localModelsOf(config));
  assert.equal(verified.models, 2);
  assert.equal(verified.pinned, 2);
  assert.ok(verified.hashedBytes > 0 && verified.ms >= 0);
  const local = await startLocalEngine(config, () => gate);
  const gw = await startGateway({ config: local.attach(config), logger: silentLogger() });
  t.after(async () => { await gw.close(); await local.close(); });

  assert.deepEqual(gw.state().pools.map((p) => p.endpoints.map((e) => [e.config.url, e.config.engineType])), [[[local.server.url, 'local']], [[local.server.url, 'local']]]);
  for (const model of ['a', 'b']) {
    const r = await postJson(`${gw.url}/v1/completions`, { model, prompt: 'hi', max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
  }
  // parallelSequences reached the engine: two sequences per loaded model.
  const slots = (await (await fetch(`${local.server.url}/slots`)).json()) as { model: string; slots: unknown[] }[];
  assert.deepEqual(slots.map((s) => [s.model, s.slots.length]).sort(), [['a', 2], ['b', 2]]);
  // idleTimeoutMs reached it too: both models unload (scale to zero), and load again on the next request.
  await eventually(() => local.server.registry.status().every((s) => s.state === 'unloaded'), 15_000);
  assert.equal((await postJson(`${gw.url}/v1/completions`, { model: 'a', prompt: 'hi', max_tokens: 1 })).status, 200);
});

test('the gateway reaches the local engine in-process: stream, engine view without a scrape, a client that leaves frees the sequence', async (t) => {
  const m = await models(['a']);
  const config = parseConfigText(
    `listeners: [{host: 127.0.0.1, port: 0}]
localEngine: {parallelSequences: 1, contextSize: 256, threads: 1}
trust: {lock: "${m.lock}"}
pools: [{name: a, models: [a], endpoints: [{engine: local, path: "${m.paths.a}"}]}]`,
    'cfg.yaml',
  );
  const gate = await openModelGate(config.trust);
  const local = await startLocalEngine(config, () => gate);
  const gw = await startGateway({ config: local.attach(config), logger: silentLogger() });
  t.after(async () => { await gw.close(); await local.close(); });
  const endpoint = gw.state().pools[0]!.endpoints[0]!;
  assert.equal(endpoint.upstream.inProcess, local.server.inProcess, 'the endpoint calls the engine without its socket');

  const r = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'a', prompt: 'hi', max_tokens: 8, ignore_eos: true, stream: true, stream_options: { include_usage: true } }) });
  assert.equal(r.status, 200);
  assert.ok(r.headers.get('x-request-id'), 'the relay added its headers');
  const events = (await r.text()).split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  assert.equal(JSON.parse(events.at(-2)!.slice(6)).usage.completion_tokens, 8);
  // The engine view comes from the engine: a loaded model reports its KV capacity in tokens.
  await eventually(() => endpoint.view.metrics.numGpuBlocks === 256, 5_000);
  assert.equal(endpoint.view.metrics.blockSize, 1);

  // A client that disconnects mid-stream cancels the engine request: its sequence is freed.
  const abort = new AbortController();
  const long = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'a', prompt: 'long', max_tokens: 200, ignore_eos: true, stream: true }), signal: abort.signal });
  const reader = long.body!.getReader();
  await reader.read();
  abort.abort();
  await eventually(() => local.server.registry.status()[0]!.stats!.running === 0 && endpoint.view.inflight.requests === 0, 5_000);
  assert.ok(local.server.registry.status()[0]!.stats!.kvCachedTokens < 150, 'generation stopped early');
  assert.equal((await postJson(`${gw.url}/v1/completions`, { model: 'a', prompt: 'next', max_tokens: 2 })).status, 200);
});

test('the memory budget reaches the engine: a model larger than it fails startup', async () => {
  const m = await models(['a']);
  const config = parseConfigText(`localEngine: {memoryBudgetBytes: 1000, threads: 1}\npools: [{name: a, models: [a], endpoints: [{engine: local, path: "${m.paths.a}"}]}]`, 'cfg.yaml');
  await assert.rejects(startLocalEngine(config, () => { throw new Error('not reached'); }), /more than the memory budget of 1000/);
});

test('serve --config with a local pool; SIGHUP re-checks the lock and adds a model; a mismatch keeps the running config', async (t) => {
  const m = await models(['a', 'b']);
  const file = join(m.dir, 'inferstack.yaml');
  const pool = (n: string) => `  - {name: ${n}, models: [${n}], endpoints: [{engine: local, path: "${m.paths[n]}"}]}\n`;
  const head = `localEngine: {threads: 1, contextSize: 128}\ntrust: {lock: "${m.lock}"}\npools:\n`;
  writeFileSync(file, head + pool('a'));
  const s = await spawnServe(['--config', file]);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; });
  assert.match(s.stdout, /before serving: 1 verified against/);
  const complete = (model: string) => postJson(`${s.url}/v1/completions`, { model, prompt: 'hi', max_tokens: 1 });
  assert.equal((await complete('a')).status, 200);
  assert.equal((await complete('b')).status, 404);

  // Reload adds model b: a new engine with both models replaces the old one.
  writeFileSync(file, head + pool('a') + pool('b'));
  s.child.kill('SIGHUP');
  await eventually(async () => (await complete('b')).status === 200, 15_000);
  assert.equal((await complete('a')).status, 200);

  // A reload whose lock no longer lists model a is refused: the running config stays.
  let stderr = '';
  s.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  writeFileSync(m.lock, formatLock(newLock([await lockModel(m.paths.b!, { name: 'b' })])));
  writeFileSync(file, head + pool('a'));
  s.child.kill('SIGHUP');
  await eventually(() => stderr.includes('config reload failed'), 15_000);
  assert.match(stderr, /model 'a' \(.*a\.gguf\) refused: .*is not in the lock/);
  assert.equal((await complete('b')).status, 200, 'model b is still served');
});
