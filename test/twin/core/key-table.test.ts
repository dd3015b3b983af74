import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTable } from '../../../src/twin/core/key-table.ts';
import { hashBlocks } from '../../../src/twin/core/block-hash.ts';

test('key table agrees with a Map under heavy insert/delete churn', () => {
  const keys = hashBlocks(Array.from({ length: 16 * 3000 }, (_, i) => i), 16);
  // Keys whose low halves collide, to exercise probing.
  keys.push(0n, 1n << 32n, 2n << 32n, (1n << 64n) - 1n, (1n << 63n) | 5n);
  const table = new KeyTable(200);
  const map = new Map<bigint, number>();
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 50_000; step++) {
    const key = keys[rand(keys.length)]!;
    if (map.has(key)) {
      assert.equal(table.get(key), map.get(key));
      if (rand(2) === 0) {
        table.delete(key);
        map.delete(key);
      }
    } else if (map.size < 200) {
      assert.equal(table.has(key), false);
      table.insert(key, step);
      map.set(key, step);
    }
    assert.equal(table.size, map.size);
  }
  for (const key of keys) assert.equal(table.get(key), map.get(key) ?? -1);
});
