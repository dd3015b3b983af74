// `inferstack twin` refuses bad options with one line and exit code 2, before listening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/inferstack.js', import.meta.url));

const cases: Array<[string[], RegExp]> = [
  [[], /--model is required/],
  [['--model', 'no-such-model', '--gpu', 'h100'], /unknown model 'no-such-model'/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--timing', 'fast'], /--timing must be one of model, instant/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--port', '70000'], /--port must be an integer from 0 to 65535/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--port', '0', '--kv-events', 'not-an-endpoint'], /cannot bind KV event sockets/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--frobnicate'], /Unknown option '--frobnicate'/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--lora-modules', '=adapter.safetensors'], /--lora-modules wants NAME or NAME=PATH/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--max-loras', '0'], /--max-loras must be an integer/],
  [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--hardware-file', 'no-such-file.yaml'], /cannot read hardware file 'no-such-file.yaml'/],
  [['--model', 'llama-3.1-8b', '--gpu', 'rtx4090'], /unknown/i],
];

for (const [args, message] of cases) {
  test(`twin ${args.join(' ') || '(no options)'} -> one-line error, exit 2`, () => {
    const r = spawnSync(process.execPath, [bin, 'twin', ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  });
}

test('twin --help lists the options and says the engine is simulated', () => {
  const r = spawnSync(process.execPath, [bin, 'twin', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /simulated/);
  assert.match(r.stdout, /--kv-events-encoding/);
});

test('twin --hardware-file serves on an accelerator the file adds', async () => {
  const file = fileURLToPath(new URL('../../../bench/data/workstation-gpus.yaml', import.meta.url));
  const child = spawn(process.execPath, [bin, 'twin', '--model', 'llama-3.1-8b', '--gpu', 'rtx4090', '--hardware-file', file, '--port', '0', '--timing', 'instant'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const banner = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('listening on')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`twin exited (${code})`)));
    });
    // 24 GiB x 0.9 - 16 GB of BF16 weights - activations at the default 8,192-token budget.
    assert.match(banner, /serving llama-3\.1-8b/);
    assert.match(banner, /508 KV blocks of 16 tokens/);
  } finally {
    child.kill('SIGTERM');
  }
});
