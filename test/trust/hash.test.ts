import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile, hashInto } from '../../src/trust/hash.ts';
import { tempDir } from './fixtures.ts';

test('double-buffered hashing equals a one-shot SHA-256 for every chunk alignment, from any start', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const data = randomBytes(10_007);
    const path = join(dir, 'data');
    writeFileSync(path, data);
    const fh = await open(path, 'r');
    try {
      for (const chunk of [7, 4096, 10_007, 20_000]) {
        for (const start of [0, 1, 5000, 10_007]) {
          const h = createHash('sha256');
          assert.equal(await hashInto(fh, h, start, chunk), data.length - start);
          assert.equal(h.digest('hex'), createHash('sha256').update(data.subarray(start)).digest('hex'), `chunk ${chunk} start ${start}`);
        }
      }
    } finally {
      await fh.close();
    }
    assert.deepEqual(await hashFile(path), { sha256: createHash('sha256').update(data).digest('hex'), size: data.length });
    writeFileSync(join(dir, 'empty'), '');
    assert.equal((await hashFile(join(dir, 'empty'))).sha256, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  } finally {
    cleanup();
  }
});
