import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrustError } from '../../src/trust/errors.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { formatLock, modelDigest, newLock, parseLock, MAX_LOCK_BYTES } from '../../src/trust/lockfile.ts';
import { makeModel, tempDir } from './fixtures.ts';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('a directory locks every file with size and SHA-256, sorted, with a digest over all and provenance', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const now = new Date('2026-11-22T05:00:00Z');
    const locked = await lockModel(model, { now });
    assert.equal(locked.name, 'tiny-model');
    assert.equal(locked.source, model);
    assert.equal(locked.lockedAt, '2026-11-22T05:00:00.000Z');
    assert.deepEqual(locked.files.map((f) => f.path), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer/tokenizer.json']);
    for (const f of locked.files) {
      const p = join(model, f.path);
      assert.equal(f.sha256, sha(p));
      assert.equal(f.size, readFileSync(p).length);
    }
    assert.equal(locked.digest, modelDigest(locked.files));
    // The digest is over the sorted list, so file order does not matter but every byte of every entry does.
    assert.equal(modelDigest([...locked.files].reverse()), locked.digest);
    assert.notEqual(modelDigest(locked.files.map((f, i) => (i === 0 ? { ...f, size: f.size + 1 } : f))), locked.digest);

    const single = await lockModel(join(model, 'model.safetensors'));
    assert.equal(single.name, 'model.safetensors');
    assert.equal(single.source, model);
    assert.deepEqual(single.files.map((f) => f.path), ['model.safetensors']);

    const text = formatLock(newLock([locked, single]));
    assert.deepEqual(parseLock(text), JSON.parse(text));
  } finally {
    cleanup();
  }
});

test('symbolic links and missing paths are refused when locking', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    symlinkSync('/etc/hostname', join(model, 'link.json'));
    await assert.rejects(lockModel(model), /link\.json is a symbolic link/);
    await assert.rejects(lockModel(join(dir, 'absent')), /no such file or directory/);
  } finally {
    cleanup();
  }
});

test('a malformed or edited lock is refused with a message naming the problem', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = JSON.parse(formatLock(newLock([await lockModel(makeModel(dir))])));
    const bad = (edit: (l: any) => void, why: RegExp) => {
      const l = structuredClone(good);
      edit(l);
      assert.throws(() => parseLock(JSON.stringify(l)), (e: unknown) => e instanceof TrustError && e.code === 'bad-lock' && why.test(e.message));
    };
    assert.throws(() => parseLock('{'), /not valid JSON/);
    assert.throws(() => parseLock(Buffer.alloc(MAX_LOCK_BYTES + 1, 0x20)), /larger than/);
    bad((l) => (l.version = 2), /unsupported version 2/);
    bad((l) => (l.kind = 'x'), /kind must be/);
    bad((l) => (l.extra = 1), /unknown field "extra"/);
    bad((l) => (l.models[0].files[0].path = '../../etc/passwd'), /"\.\." segments/);
    bad((l) => (l.models[0].files[0].path = '/etc/passwd'), /must be relative/);
    bad((l) => (l.models[0].files[0].path = 'a\\b'), /backslash/);
    bad((l) => (l.models[0].files[0].sha256 = 'ABC'), /64 lowercase hex/);
    bad((l) => (l.models[0].files[0].size = -1), /non-negative integer/);
    bad((l) => l.models[0].files.push(l.models[0].files[0]), /twice/);
    bad((l) => l.models.push(l.models[0]), /duplicate model name/);
    bad((l) => (l.models[0].files[0].sha256 = '0'.repeat(64)), /digest does not match its files/);
    bad((l) => (l.models[0].files = []), /non-empty array/);
  } finally {
    cleanup();
  }
});

test('an unreadable lock file is a bad-lock error, not a crash', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { readLock } = await import('../../src/trust/lockfile.ts');
    await assert.rejects(readLock(join(dir, 'none.lock')), /cannot read lock .*ENOENT/);
    writeFileSync(join(dir, 'bin.lock'), Buffer.from([0xff, 0xfe, 0x00]));
    await assert.rejects(readLock(join(dir, 'bin.lock')), /not valid JSON/);
    // A path at a huge file is refused from its size, before it is read (sparse: costs no disk).
    writeFileSync(join(dir, 'huge.lock'), '');
    truncateSync(join(dir, 'huge.lock'), 4 * 1024 ** 3);
    await assert.rejects(readLock(join(dir, 'huge.lock')), /larger than the 67108864-byte limit/);
  } finally {
    cleanup();
  }
});
