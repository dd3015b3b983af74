// P/D with vLLM's NixlConnector protocol between two twin PROCESSES: the prefill twin holds the
// prompt's blocks and returns kv_transfer_params; the decode twin pulls the KV over HTTP and the
// prefill twin frees the blocks then, or after its hold timeout when no decode comes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parsePrometheusText } from '../../../src/engines/prometheus-text.ts';
import { MODEL, post, raw, until } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/inferstack.js', import.meta.url));

interface TwinProcess {
  url: string;
  child: ChildProcess;
}

function spawnTwin(args: string[]): Promise<TwinProcess> {
  const child = spawn(process.execPath, [bin, 'twin', '--model', MODEL, '--gpu', 'h100', '--port', '0', '--timing', 'instant', '--num-gpu-blocks', '4096', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`twin did not start: ${out}${err}`)), 20_000);
    child.stderr!.on('data', (c) => { err += c; });
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`twin exited with ${code}: ${err}`));
    });
  });
}

async function kvUsage(url: string): Promise<number> {
  const text = (await raw(url, 'GET', '/metrics')).text;
  return parsePrometheusText(text).find((s) => s.name === 'vllm:kv_cache_usage_perc')!.value;
}

let prefill: TwinProcess;
let shortHold: TwinProcess;
let decode: TwinProcess;

before(async () => {
  [prefill, shortHold, decode] = await Promise.all([
    spawnTwin(['--role', 'prefill']),
    spawnTwin(['--role', 'prefill', '--kv-hold-timeout', '0.3']),
    spawnTwin(['--role', 'decode']),
  ]);
});

after(async () => {
  await Promise.all([prefill, shortHold, decode].filter(Boolean).map((t) => new Promise<void>((resolve) => {
    if (t.child.exitCode !== null) return resolve();
    t.child.once('exit', () => resolve());
    t.child.kill('SIGTERM');
  })));
});

const prompt = 'A prompt long enough to fill several KV blocks on the prefill twin before decode. '.repeat(6);

/** Step 1 of the toy proxy: the original request with do_remote_decode, max_tokens 1, no stream. */
function prefillBody() {
  return {
    model: MODEL, prompt, max_tokens: 1, stream: false,
    kv_transfer_params: { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null },
  };
}

test('prefill holds the blocks, decode pulls them, then the prefill twin frees them', async () => {
  const p = await post(prefill.url, '/v1/completions', prefillBody());
  assert.equal(p.status, 200);
  const params = p.json().kv_transfer_params;
  assert.equal(params.do_remote_prefill, true);
  assert.equal(params.do_remote_decode, false);
  assert.equal(params.remote_host, '127.0.0.1');
  assert.equal(params.remote_port, Number(new URL(prefill.url).port));
  assert.equal(typeof params.remote_engine_id, 'string');
  assert.equal(typeof params.remote_request_id, 'string');
  assert.equal(params.tp_size, 1);
  const promptTokens = p.json().usage.prompt_tokens;
  assert.equal(params.remote_block_ids.length, Math.ceil(promptTokens / 16));
  assert.ok(await kvUsage(prefill.url) > 0, 'the prefill twin holds the prompt blocks');

  // Step 3: the original request plus those params, streamed from the decode twin.
  const d = await post(decode.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 8, stream: true, stream_options: { include_usage: true }, kv_transfer_params: params });
  assert.equal(d.status, 200);
  assert.equal(d.headers['x-inferstack-kv-transfer'], 'pulled');
  assert.match(d.text, /"completion_tokens":8/);
  assert.match(d.text, /data: \[DONE\]/);
  await until(async () => (await kvUsage(prefill.url)) === 0, 'the prefill twin to free the blocks');
});

test('a hold nobody pulls is freed after the timeout; a late decode recomputes locally', async () => {
  const p = await post(shortHold.url, '/v1/completions', prefillBody());
  const params = p.json().kv_transfer_params;
  assert.equal(params.do_remote_prefill, true);
  await until(async () => (await kvUsage(shortHold.url)) === 0, 'the hold to time out');
  const d = await post(decode.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 3, kv_transfer_params: params });
  assert.equal(d.status, 200);
  assert.equal(d.headers['x-inferstack-kv-transfer'], 'recomputed');
  assert.equal(d.json().usage.completion_tokens, 3);
});

test('roles are enforced with a clear 400', async () => {
  const r = await post(decode.url, '/v1/completions', prefillBody());
  assert.equal(r.status, 400);
  assert.match(r.json().error.message, /decode role/);
  const s = await post(prefill.url, '/v1/completions', { ...prefillBody(), stream: true });
  assert.equal(s.status, 400);
});
