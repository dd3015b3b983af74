// `inferstack serve` as a process: the embedded simulated default, command-line errors, and SIGHUP
// reload without dropping a stream in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { metricSum, postJson, readSse, spawnServe, spawnTwin, stopProcess } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

const cli = fileURLToPath(new URL('../../bin/inferstack.js', import.meta.url));

function run(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 30_000 }, (err, _stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
  });
}

test('with no config: simulated twins behind the gateway, and it says so', async (t) => {
  const s = await spawnServe(['--twins', '2', '--timing', 'instant']);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; });
  assert.match(s.stdout, /SIMULATED/);
  assert.match(s.stdout, /models: llama-3\.1-8b/);
  assert.match(s.stdout, /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
  const r = await postJson(`${s.url}/v1/chat/completions`, { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  assert.equal(r.status, 200);
  assert.equal(r.json.usage.completion_tokens, 4);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(metrics, /process_cpu_seconds_total/);
  // The twins' own built-in tokenizer counts the prompt (no 4-characters estimate).
  assert.match(metrics, /inferstack_gateway_prompt_tokenizations_total\{pool="simulated",outcome="tokenized"\} 1/);
});

test('command-line mistakes: one line on stderr, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-serve-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'pools: [{name: a, models: [m], endpoints: [{url: "http://127.0.0.1:1", engine: vllm, weight: 2}]}]\n');
  const cases: [string[], RegExp][] = [
    [['--engine-type', 'tgi', '--upstream', 'http://127.0.0.1:1'], /--engine-type must be one of/],
    [['--config', bad], /pools\[0\]\.endpoints\[0\]\.weight: unknown key/],
    [['--config', join(dir, 'missing.yaml')], /cannot read config/],
    [['--upstream', 'http://127.0.0.1:1'], /cannot list models of http:\/\/127\.0\.0\.1:1/],
    [['--port', 'eighty'], /--port must be an integer/],
    [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--upstream', 'http://127.0.0.1:1', '--policy', 'fastest'], /--policy must be one of round-robin, least-load/],
    [['--hardware', 'model=llama-3.1-8b,gpu=h100'], /--hardware goes with --upstream/],
    [['--upstream', 'http://127.0.0.1:1', '--hardware', 'gpu=h100'], /--hardware needs at least model=ID and gpu=ID/],
    [['--upstream', 'http://127.0.0.1:1', '--hardware', 'model=llama-3.1-8b,gpu=h1000'], /--hardware gpu: .*h1000/],
    [['--upstream', 'http://127.0.0.1:1', '--hardware', 'model=llama-3.1-8b,gpu=h100,tp=0'], /--hardware: tp must be an integer/],
    [['--upstream', 'http://127.0.0.1:1', '--hardware', 'model=llama-3.1-8b,gpu=h100,colour=red'], /--hardware: unknown key 'colour'/],
    [['--tokenizer', 'engine'], /--tokenizer goes with --upstream/],
    [['--kv-events', 'tcp://127.0.0.1:5557'], /--kv-events goes with --upstream/],
    [['--upstream', 'http://127.0.0.1:1', '--upstream', 'http://127.0.0.1:2', '--kv-events', 'tcp://127.0.0.1:5557'], /give --kv-events once per --upstream \(2\), got 1/],
    [['--upstream', 'http://127.0.0.1:1', '--kv-events', 'http://127.0.0.1:5557'], /--kv-events wants tcp:\/\/HOST:PORT/],
    [['--upstream', 'http://127.0.0.1:1', '--hardware', 'model=llama-3.1-405b,gpu=h100'], /--hardware: llama-3.1-405b \(bf16\) does not fit on 1 x h100/],
  ];
  const results = await Promise.all(cases.map(([args]) => run([cli, 'serve', ...args])));
  cases.forEach(([args, re], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  });
});

test('--upstream with --hardware: the pool gets the physics step-time model and it says so', async (t) => {
  const engine = await startFakeEngine({ tokens: 2 });
  const s = await spawnServe(['--upstream', engine.url, '--hardware', 'model=llama-3.1-8b,gpu=h100,tp=1,dtype=fp8']);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; await engine.close(); });
  assert.match(s.stdout, /hardware of fake-model: llama-3\.1-8b on h100 x1/);
  const r = await postJson(`${s.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 200);
});

test('SIGHUP reloads the config without dropping a stream in flight; a bad config is refused', async (t) => {
  const a = await startFakeEngine({ models: ['model-a'], tokens: 30, chunkDelayMs: 20 });
  const b = await startFakeEngine({ models: ['model-b'] });
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-serve-'));
  const file = join(dir, 'inferstack.yaml');
  const pool = (name: string, url: string) => `  - {name: ${name}, models: [${name}], endpoints: [{url: "${url}", engine: vllm}]}\n`;
  writeFileSync(file, `pools:\n${pool('model-a', a.url)}`);
  const s = await spawnServe(['--config', file]);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; await a.close(); await b.close(); });

  const stream = fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'x' }], stream: true }) });
  const response = await stream;
  // Reload to a config that drops model-a and adds model-b while model-a's stream is running.
  writeFileSync(file, `pools:\n${pool('model-b', b.url)}`);
  s.child.kill('SIGHUP');
  let served = 0;
  for (let i = 0; i < 100 && served !== 200; i++) {
    await sleep(20);
    served = (await postJson(`${s.url}/v1/chat/completions`, { model: 'model-b', messages: [{ role: 'user', content: 'x' }] })).status;
  }
  assert.equal(served, 200, 'model-b is served after the reload');
  assert.equal((await postJson(`${s.url}/v1/chat/completions`, { model: 'model-a', messages: [{ role: 'user', content: 'x' }] })).status, 404);
  const events = await readSse(response);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.filter((e) => e.includes('"content":"tok')).length, 30, 'every chunk of the old stream arrived');

  writeFileSync(file, 'pools: [{name: broken}]\n');
  s.child.kill('SIGHUP');
  await sleep(300);
  assert.equal((await postJson(`${s.url}/v1/chat/completions`, { model: 'model-b', messages: [{ role: 'user', content: 'x' }] })).status, 200, 'the running config stays');
});

test('--model serves a GGUF file through the embedded llama.cpp engine', async (t) => {
  const { writeTinyLlama } = await import('../../src/engines/local/tiny-model.ts');
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-serve-'));
  const path = join(dir, 'tiny.gguf');
  await writeTinyLlama(path, {});
  const s = await spawnServe(['--model', `tiny=${path}`, '--allow-unpinned']);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; });
  assert.match(s.stdout, /embedded llama\.cpp engine/);
  const r = await postJson(`${s.url}/v1/chat/completions`, { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
  assert.equal(r.status, 200);
  assert.equal(r.json.usage.completion_tokens, 3);
});

test('--upstream with --kv-events: the pool subscribes to the engine\'s KV events', async (t) => {
  const twin = await spawnTwin(['--kv-events', 'tcp://127.0.0.1:*', '--kv-events-replay', 'tcp://127.0.0.1:*']);
  const s = await spawnServe(['--upstream', twin.url, '--engine-type', 'twin', '--policy', 'llm-d-precise', '--kv-events', `${twin.kvEvents!.endpoint},${twin.kvEvents!.replayEndpoint}`]);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; await stopProcess(twin); });
  let i = 0;
  await until('KV events through the gateway', async () => {
    const r = await postJson(`${s.url}/v1/completions`, { model: 'llama-3.1-8b', prompt: `a prompt worth caching ${i++} `.repeat(20), max_tokens: 1 });
    assert.equal(r.status, 200, r.text);
    return (await metricSum(s.url, 'inferstack_gateway_kv_events_total')) > 0;
  });
});
