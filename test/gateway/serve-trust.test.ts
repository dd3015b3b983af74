// `serve` checks local GGUF files against models.lock before anything parses them: at startup
// (refusal = one line on stderr, exit 2) and again before every load (a file swapped while serving).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyLlama } from '../../src/engines/local/tiny-model.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { formatLock, newLock } from '../../src/trust/lockfile.ts';
import { postJson, spawnServe } from './fixtures/helpers.ts';

const cli = fileURLToPath(new URL('../../bin/inferstack.js', import.meta.url));

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'serve', '--port', '0', ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** A tiny GGUF pinned in a lock, another one not in it, and a pinned one with a changed byte. */
async function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-serve-trust-'));
  const good = join(dir, 'good.gguf');
  const stranger = join(dir, 'stranger.gguf');
  const tampered = join(dir, 'tampered.gguf');
  await writeTinyLlama(good, { seed: 1 });
  await writeTinyLlama(stranger, { seed: 2 });
  copyFileSync(good, tampered);
  const lock = join(dir, 'models.lock');
  writeFileSync(lock, formatLock(newLock([await lockModel(good, { name: 'good' }), await lockModel(tampered, { name: 'tampered' })])));
  flipByte(tampered, 200_000); // in the tensor data: still a valid GGUF, only the hash tells
  const pickle = join(dir, 'evil.pt');
  writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x00])); // a pickle protocol 4 header
  return { dir, good, stranger, tampered, lock, pickle };
}

function flipByte(path: string, at: number): () => void {
  const original = readFileSync(path);
  const bytes = Buffer.from(original);
  bytes[at]! ^= 0xff;
  writeFileSync(path, bytes);
  return () => writeFileSync(path, original);
}

test('serve refuses a tampered or unpinned GGUF before loading it: one line naming the file, exit 2', async () => {
  const f = await fixture();
  const cases: [string[], RegExp][] = [
    [['--model', `t=${f.tampered}`, '--lock', f.lock], /model 't' \(.*tampered\.gguf\) refused: tampered\/tampered\.gguf: sha256 [0-9a-f]{64} does not match the lock/],
    // Allowing unpinned models never admits a pinned file whose bytes changed.
    [['--model', `t=${f.tampered}`, '--lock', f.lock, '--allow-unpinned'], /tampered\.gguf: sha256 [0-9a-f]{64} does not match the lock/],
    [['--model', `s=${f.stranger}`, '--lock', f.lock], /model 's' \(.*stranger\.gguf\) refused: .*stranger\.gguf is not in the lock/],
    [['--model', `s=${f.stranger}`], /no models\.lock to check local models against: .*--allow-unpinned/],
    [['--model', `g=${f.good}`, '--lock', join(f.dir, 'missing.lock')], /missing\.lock/],
    // Unpinned files still pass the format guards: a pickle checkpoint is refused before anything loads it.
    [['--model', `e=${f.pickle}`, '--allow-unpinned'], /model 'e' \(.*evil\.pt\) refused: refusing .*evil\.pt: pickle-based formats/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(args)));
  cases.forEach(([args, re], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  });
});

test('a pinned GGUF serves; the same file changed while serving is refused at load', async (t) => {
  const f = await fixture();
  const s = await spawnServe(['--model', `good=${f.good}`, '--lock', f.lock]);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; });
  assert.match(s.stdout, /local models checked in \d+\.\d ms before serving: 1 verified against .*models\.lock \(\d+ bytes hashed\); ready \d+ ms after the process started/);

  // Models load on first use: swap a byte now and the load-time gate refuses the file.
  const restore = flipByte(f.good, 200_000);
  const refused = await postJson(`${s.url}/v1/completions`, { model: 'good', prompt: 'hi', max_tokens: 2 });
  assert.equal(refused.status, 500, refused.text);
  assert.match(refused.json.error.message, /good\.gguf.*does not match the lock/);

  restore();
  const ok = await postJson(`${s.url}/v1/completions`, { model: 'good', prompt: 'hi', max_tokens: 2 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.usage.completion_tokens, 2);
});

test('--allow-unpinned serves a file the lock does not list', async (t) => {
  const f = await fixture();
  const s = await spawnServe(['--model', `s=${f.stranger}`, '--lock', f.lock, '--allow-unpinned']);
  t.after(async () => { s.child.kill('SIGTERM'); await s.exited; });
  assert.match(s.stdout, /local models checked in \d+\.\d ms before serving: 1 unpinned \(allowed: format checks only\)/);
  const ok = await postJson(`${s.url}/v1/completions`, { model: 's', prompt: 'hi', max_tokens: 2 });
  assert.equal(ok.status, 200, ok.text);
});
