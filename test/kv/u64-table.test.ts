import assert from 'node:assert/strict';
import { test } from 'node:test';
import { U64Table } from '../../src/kv/u64-table.ts';

test('behaves like a Map<bigint, number> under random set/delete, across growth and tombstones', () => {
  const t = new U64Table(4);
  const m = new Map<bigint, number>();
  let x = 12345n;
  const keys: bigint[] = [];
  for (let i = 0; i < 20_000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    const k = i % 3 === 0 && keys.length > 0 ? keys[Number(x % BigInt(keys.length))]! : x;
    keys.push(k);
    if (i % 5 === 4) {
      assert.equal(t.delete(k), m.delete(k));
    } else {
      const v = (i % 1000) + 1;
      t.set(k, v);
      m.set(k, v);
    }
  }
  assert.equal(t.size, m.size);
  for (const k of keys) assert.equal(t.get(k), m.get(k) ?? 0);
  assert.equal([...t.entries()].length, m.size);
  for (const [k, v] of t.entries()) assert.equal(m.get(k), v);
  assert.throws(() => t.set(1n, 0), /reserved/);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.get(keys[0]!), 0);
});

test('small and sequential keys (engine hashes can be anything) and the full 64-bit range', () => {
  const t = new U64Table();
  for (let i = 0n; i < 1000n; i++) t.set(i, Number(i) + 1);
  t.set(0xffffffffffffffffn, 7);
  for (let i = 0n; i < 1000n; i++) assert.equal(t.get(i), Number(i) + 1);
  assert.equal(t.get(0xffffffffffffffffn), 7);
  assert.equal(t.get(0xfffffffffffffffen), 0);
});
