import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTable } from '../../../src/twin/core/key-table.ts';
import { hashBlocks } from '../../../src/twin/core/block-hash.ts';

function lcg(seed: number): (n: number) => number {
  return (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
}

/** Random inserts and deletes (by key and by id) against a Map, with `ids` ids; checks every key after each step when `checkAll`. */
function churn(table: KeyTable, keys: bigint[], ids: number, steps: number, seed: number, checkAll: boolean): void {
  const map = new Map<bigint, number>();
  const free = Array.from({ length: ids }, (_, i) => i);
  const rand = lcg(seed);
  for (let step = 0; step < steps; step++) {
    const key = keys[rand(keys.length)]!;
    const id = map.get(key);
    if (id !== undefined) {
      assert.equal(table.get(key), id);
      const r = rand(3);
      if (r === 0) table.delete(key);
      else if (r === 1) table.deleteId(id);
      if (r < 2) {
        map.delete(key);
        free.push(id);
      }
    } else if (free.length > 0) {
      const newId = free.splice(rand(free.length), 1)[0]!;
      assert.equal(table.has(key), false);
      assert.equal(table.insertIfAbsent(key, newId), true);
      map.set(key, newId);
    }
    assert.equal(table.size, map.size);
    if (checkAll) for (const k of keys) assert.equal(table.get(k), map.get(k) ?? -1);
  }
  for (const k of keys) assert.equal(table.get(k), map.get(k) ?? -1);
}

test('key table agrees with a Map under heavy insert/delete churn', () => {
  const keys = hashBlocks(Array.from({ length: 16 * 3000 }, (_, i) => i), 16);
  // Keys whose low halves collide, to exercise probing.
  keys.push(0n, 1n << 32n, 2n << 32n, (1n << 64n) - 1n, (1n << 63n) | 5n);
  churn(new KeyTable(200), keys, 200, 50_000, 7, false);
});

test('deletion keeps every run reachable, also where a run wraps around the end of the table', () => {
  // 8 ids: a table of 16 slots. Keys whose low halves put them at slots 13..15 and 0..1, so runs wrap.
  const keys: bigint[] = [];
  for (const lo of [13, 14, 15, 0, 1]) for (let hi = 1; hi <= 4; hi++) keys.push((BigInt(hi) << 32n) | BigInt(lo));
  churn(new KeyTable(8), keys, 8, 20_000, 11, true);
});

test('a present key is not stored twice; an id is never in the table twice', () => {
  const table = new KeyTable(4);
  assert.equal(table.insertIfAbsent(42n, 0), true);
  assert.equal(table.insertIfAbsent(42n, 1), false);
  assert.equal(table.get(42n), 0);
  assert.throws(() => table.insert(42n, 2), /already in the table/);
  assert.throws(() => table.insertIfAbsent(43n, 0), /already in the table/);
  assert.throws(() => table.insertIfAbsent(43n, 4), /out of range/);
  table.deleteId(0);
  table.deleteId(0); // absent: nothing happens
  assert.equal(table.size, 0);
  assert.equal(table.insertIfAbsent(43n, 0), true);
  assert.equal(table.get(42n), -1);
});
