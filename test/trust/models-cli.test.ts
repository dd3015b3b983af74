import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeModel, tempDir } from './fixtures.ts';

const bin = fileURLToPath(new URL('../../bin/inferstack.js', import.meta.url));

function cli(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'models', ...args], { cwd, encoding: 'utf8', env: { ...process.env, INFERSTACK_MIRROR: join(cwd, 'mirror') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function oneLineError(r: { code: number | null; err: string }, code: number, why: RegExp): void {
  assert.equal(r.code, code, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, why);
}

test('models lock, keygen, sign, pull and verify end to end; tampering fails with one line and exit 1', () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    let r = cli(dir, 'lock', model);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /locked tiny-model: 4 files, \d+ bytes, sha256:[0-9a-f]{64}/);
    assert.ok(existsSync(join(dir, 'models.lock')));

    assert.equal(cli(dir, 'keygen', '--out', 'keys').code, 0);
    assert.equal(statSync(join(dir, 'keys', 'signing.key.pem')).mode & 0o777, 0o600);
    oneLineError(cli(dir, 'keygen', '--out', 'keys'), 2, /exists; use --force/);
    r = cli(dir, 'sign', '--key', 'keys/signing.key.pem');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(dir, 'models.lock.sig')));

    r = cli(dir, 'verify', '--signature', 'models.lock.sig', '--pub', 'keys/signing.pub.pem');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /verified 4 files, \d+ bytes against models.lock; signature ed25519 \+ ml-dsa-65 by sha256:[0-9a-f]{64} verified/);

    r = cli(dir, 'pull');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /pulled 4 files into .*mirror: 4 copied/);
    assert.equal(cli(dir, 'verify', '--mirror', 'mirror').code, 0);

    // A flipped byte in a model file.
    const weights = join(model, 'model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    oneLineError(cli(dir, 'verify'), 1, /^inferstack: tiny-model\/model\.safetensors: sha256 [0-9a-f]+ does not match the lock/);
    // The mirror copy is still good.
    assert.equal(cli(dir, 'verify', '--mirror', 'mirror').code, 0);

    // A wrong key.
    assert.equal(cli(dir, 'keygen', '--out', 'other').code, 0);
    oneLineError(cli(dir, 'verify', '--pub', 'other/signing.pub.pem'), 1, /not by the given public key/);
    // An edited lock.
    const lockText = readFileSync(join(dir, 'models.lock'), 'utf8');
    writeFileSync(join(dir, 'models.lock'), lockText.replace('"tiny-model"', '"tiny-modem"'));
    oneLineError(cli(dir, 'verify', '--pub', 'keys/signing.pub.pem'), 1, /the lock has changed since it was signed/);
  } finally {
    cleanup();
  }
});

test('usage mistakes are one line and exit 2', () => {
  const { dir, cleanup } = tempDir();
  try {
    oneLineError(cli(dir, 'lock'), 2, /needs at least one PATH/);
    oneLineError(cli(dir, 'sign'), 2, /needs --key/);
    oneLineError(cli(dir, 'verify', '--signature', 'x.sig'), 2, /--signature needs --pub/);
    oneLineError(cli(dir, 'frob'), 2, /unknown models subcommand 'frob'/);
    oneLineError(cli(dir, 'verify', '--nope'), 2, /Unknown option '--nope'/);
    oneLineError(cli(dir, 'verify'), 1, /cannot read lock models\.lock: ENOENT/);
    assert.match(cli(dir, '--help').out, /keygen --out DIR/);
  } finally {
    cleanup();
  }
});
