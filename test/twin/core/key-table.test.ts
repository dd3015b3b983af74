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

test('deletion keeps every run reachable, also where a run wraps around the end of the table', () => {
  // A table of 16 slots; keys whose low halves put them at slots 13..15 and 0..1, so runs wrap.
  const keys: bigint[] = [];
  for (const lo of [13, 14, 15, 0, 1]) for (let hi = 1; hi <= 4; hi++) keys.push((BigInt(hi) << 32n) | BigInt(lo));
  const table = new KeyTable(8);
  const map = new Map<bigint, number>();
  let seed = 11;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 20_000; step++) {
    const key = keys[rand(keys.length)]!;
    if (map.has(key)) {
      table.delete(key);
      map.delete(key);
    } else if (map.size < 7) {
      assert.equal(table.insertIfAbsent(key, step), true);
      assert.equal(table.insertIfAbsent(key, -5), false);
      map.set(key, step);
    }
    for (const k of keys) assert.equal(table.get(k), map.get(k) ?? -1);
  }
  // Growing past half full keeps every entry.
  const big = new KeyTable(2);
  for (let i = 0; i < 100; i++) big.insert(BigInt(i) << 20n, i);
  for (let i = 0; i < 100; i++) assert.equal(big.get(BigInt(i) << 20n), i);
  assert.equal(big.size, 100);
});
