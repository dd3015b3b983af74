import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { admitModel, createModelGate } from '../../src/trust/admit.ts';
import { TrustError } from '../../src/trust/errors.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { newLock, formatLock } from '../../src/trust/lockfile.ts';
import { blobPath, pullLock } from '../../src/trust/mirror.ts';
import { VerifiedCache, verifyArtifact, verifyLock } from '../../src/trust/verify.ts';
import { writeTinyLlama } from '../../src/engines/local/tiny-model.ts';
import { makeModel, tempDir } from './fixtures.ts';

const code = (c: string, why?: RegExp) => (e: unknown) => e instanceof TrustError && e.code === c && (!why || why.test(e.message));

function flipByte(path: string, at: number): () => void {
  const bytes = readFileSync(path);
  const original = Buffer.from(bytes);
  bytes[at] ^= 0x01;
  writeFileSync(path, bytes);
  return () => writeFileSync(path, original);
}

test('verify re-hashes every file and refuses a flipped byte anywhere in any file, naming it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const report = await verifyLock(lock);
    assert.equal(report.files, 4);
    for (const file of lock.models[0]!.files) {
      const path = join(model, file.path);
      for (const at of [0, Math.floor(file.size / 2), file.size - 1]) {
        const restore = flipByte(path, at);
        await assert.rejects(verifyLock(lock), code('hash-mismatch', new RegExp(`tiny-model/${file.path}: sha256 [0-9a-f]{64} does not match the lock`)));
        restore();
      }
    }
    await verifyLock(lock); // restored: passes again
    appendFileSync(join(model, 'config.json'), ' ');
    await assert.rejects(verifyLock(lock), code('hash-mismatch', /config\.json: \d+ bytes, the lock says/));
    rmSync(join(model, 'config.json'));
    await assert.rejects(verifyLock(lock), code('missing-file', /config\.json: missing/));
  } finally {
    cleanup();
  }
});

test('verify stops at the first mismatching file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    flipByte(join(model, 'config.json'), 0);
    flipByte(join(model, 'model.safetensors'), 100);
    await assert.rejects(verifyLock(lock), /tiny-model\/config\.json/); // first in lock order
    await assert.rejects(verifyLock(lock, { models: ['absent'] }), /model "absent" is not in the lock/);
  } finally {
    cleanup();
  }
});

test('verifyArtifact: pinned directories, files and mirror blobs must match; unpinned refused unless allowed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const other = makeModel(dir, 'other-model', 2);
    const lock = newLock([await lockModel(model)]);
    const lockPath = join(dir, 'models.lock');
    writeFileSync(lockPath, formatLock(lock));

    assert.deepEqual((await verifyArtifact(model, lock)).pinned, true);
    assert.equal((await verifyArtifact(model, lockPath)).files.length, 4); // lock given as a path
    const weightsSize = readFileSync(join(model, 'model.safetensors')).length;
    assert.deepEqual(await verifyArtifact(join(model, 'model.safetensors'), lock), { pinned: true, files: [join(model, 'model.safetensors')], hashedBytes: weightsSize });

    const mirror = join(dir, 'mirror');
    await pullLock(lock, { mirror });
    const weights = lock.models[0]!.files.find((f) => f.path === 'model.safetensors')!;
    assert.equal((await verifyArtifact(blobPath(mirror, weights.sha256), lock)).pinned, true);

    await assert.rejects(verifyArtifact(other, lock), code('unpinned', /not in the lock; lock it .* or allow unpinned models explicitly/));
    assert.deepEqual((await verifyArtifact(other, lock, { allowUnpinned: true })).pinned, false);

    // A pinned artifact that does not match is refused even when unpinned models are allowed.
    const restore = flipByte(join(model, 'model.safetensors'), 500);
    await assert.rejects(verifyArtifact(model, lock, { allowUnpinned: true }), code('hash-mismatch'));
    await assert.rejects(verifyArtifact(join(model, 'model.safetensors'), lock, { allowUnpinned: true }), code('hash-mismatch'));
    restore();

    // A file planted in a locked directory is refused.
    writeFileSync(join(model, 'modeling_evil.py'), 'import os');
    await assert.rejects(verifyArtifact(model, lock), code('unpinned', /modeling_evil\.py is not in the lock/));
  } finally {
    cleanup();
  }
});

test('admitModel: hash check first, then format guards (pickle refused unless allowed, safetensors validated)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const admitted = await admitModel(model, newLock([await lockModel(model)]));
    assert.equal(admitted.pinned, true);
    assert.equal(admitted.formats.get(join(model, 'model.safetensors')), 'safetensors');
    assert.equal(admitted.formats.get(join(model, 'config.json')), 'other');

    // A pickle checkpoint, locked and matching, is still refused for what it is.
    writeFileSync(join(model, 'pytorch_model.bin'), Buffer.from([0x80, 0x04, 0x95, 0x00]));
    const lock = newLock([await lockModel(model)]);
    await assert.rejects(admitModel(model, lock), code('unsafe-format', /pytorch_model\.bin: pickle-based formats .* can run arbitrary code when loaded/));
    assert.equal((await admitModel(model, lock, { allowPickle: true })).formats.get(join(model, 'pytorch_model.bin')), 'pickle');
    // Pickle bytes under an innocent name are caught by their magic.
    rmSync(join(model, 'pytorch_model.bin'));
    writeFileSync(join(model, 'weights.data'), Buffer.from([0x80, 0x02, 0x7d, 0x71]));
    await assert.rejects(admitModel(model, newLock([await lockModel(model)])), code('unsafe-format'));
    rmSync(join(model, 'weights.data'));

    // A locked but malformed safetensors file: hashes match, the format guard refuses it.
    const lockedBefore = newLock([await lockModel(model)]);
    const bad = Buffer.from(readFileSync(join(model, 'model.safetensors')));
    bad.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(join(model, 'model.safetensors'), bad);
    await assert.rejects(admitModel(model, newLock([await lockModel(model)])), code('bad-format', /exceeds the 100000000-byte limit/));
    // ...and against the lock taken before the edit, the hash check refuses it before any parser runs.
    await assert.rejects(admitModel(model, lockedBefore), code('hash-mismatch', /model\.safetensors/));
    await assert.rejects(admitModel(model, undefined), code('unpinned', /no lock given/));
  } finally {
    cleanup();
  }
});

test('GGUF files go through the embedded engine validator', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = join(dir, 'tiny.gguf');
    await writeTinyLlama(good);
    const lock = newLock([await lockModel(good)]);
    const admitted = await admitModel(good, lock);
    assert.equal(admitted.formats.get(good), 'gguf');
    assert.equal(admitted.pinned, true);
    writeFileSync(join(dir, 'broken.gguf'), Buffer.from('GGUF\x03\x00\x00\x00garbage'));
    await assert.rejects(admitModel(join(dir, 'broken.gguf'), undefined, { allowUnpinned: true }), code('bad-format', /invalid GGUF/));
  } finally {
    cleanup();
  }
});

test('a model gate reads the lock once, re-hashes only changed files, and catches a change hidden behind a restored mtime', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lockPath = join(dir, 'models.lock');
    writeFileSync(lockPath, formatLock(newLock([await lockModel(model)])));
    const total = (await verifyLock(newLock([await lockModel(model)]))).bytes;
    // Files written moments ago are "racy" (ctime comes from a coarse clock): not cached by default.
    const fresh = await createModelGate({ lock: lockPath });
    assert.equal((await fresh(model)).hashedBytes, total);
    assert.equal((await fresh(model)).hashedBytes, total);
    // With the racy window at 0 (as if the files had settled), unchanged files are not hashed again.
    const gate = await createModelGate({ lock: lockPath, cache: new VerifiedCache(0) });
    assert.equal((await gate(model)).hashedBytes, total);
    assert.equal((await gate(model)).hashedBytes, 0);
    // Tamper with the weights keeping size and mtime: ctime still moves, so the gate hashes and refuses.
    const weights = join(model, 'model.safetensors');
    const { mtime, atime } = statSync(weights);
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    utimesSync(weights, atime, mtime);
    await assert.rejects(gate(model), code('hash-mismatch', /model\.safetensors/));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    assert.equal((await gate(model)).hashedBytes, bytes.length); // only the changed file is hashed again
    await assert.rejects(createModelGate({}), code('unpinned', /no lock given/));
    await assert.rejects(createModelGate({ lock: join(dir, 'absent.lock') }), code('bad-lock'));
  } finally {
    cleanup();
  }
});

test('a model moved after locking is checked by name (verifyArtifact model, verifyLock from)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const built = makeModel(join(dir, 'build'));
    const lock = newLock([await lockModel(built), await lockModel(join(built, 'model.safetensors'), { name: 'weights-only' })]);
    const deployed = join(dir, 'srv', 'tiny-model');
    cpSync(built, deployed, { recursive: true });
    await assert.rejects(verifyArtifact(deployed, lock), code('unpinned')); // not at the locked path
    assert.equal((await verifyArtifact(deployed, lock, { model: 'tiny-model' })).pinned, true);
    assert.equal((await verifyLock(lock, { from: deployed, models: ['tiny-model'] })).files, 4);
    // A single-file model by name, whatever the file is called now.
    cpSync(join(built, 'model.safetensors'), join(dir, 'renamed.safetensors'));
    assert.equal((await verifyArtifact(join(dir, 'renamed.safetensors'), lock, { model: 'weights-only' })).pinned, true);
    await assert.rejects(verifyArtifact(join(deployed, 'config.json'), lock, { model: 'weights-only' }), code('hash-mismatch'));
    await assert.rejects(verifyArtifact(deployed, lock, { model: 'nope' }), code('unpinned', /model "nope"/));
    assert.equal((await verifyArtifact(deployed, lock, { model: 'nope', allowUnpinned: true })).pinned, false);
    const restore = flipByte(join(deployed, 'tokenizer', 'tokenizer.json'), 3);
    await assert.rejects(verifyArtifact(deployed, lock, { model: 'tiny-model', allowUnpinned: true }), code('hash-mismatch', /tokenizer\/tokenizer\.json/));
    restore();
    writeFileSync(join(deployed, 'extra.py'), '');
    await assert.rejects(verifyArtifact(deployed, lock, { model: 'tiny-model' }), code('unpinned', /extra\.py is not in the lock/));
  } finally {
    cleanup();
  }
});
