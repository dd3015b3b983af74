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

test('positions and setIfAbsent: one probe to read, overwrite, delete or add; deletes keep every run findable', () => {
  const t = new U64Table(4);
  assert.equal(t.setIfAbsent(5n, 9), 0, 'absent: inserted');
  assert.equal(t.setIfAbsent(5n, 11), 9, 'present: current value, unchanged');
  assert.equal(t.get(5n), 9);
  const at = t.indexOf(5n);
  assert.equal(t.valueAt(at), 9);
  t.setValueAt(at, 12);
  assert.equal(t.get(5n), 12);
  assert.equal(t.indexOf(6n), -1);
  // Many keys in a small table collide into long runs; deleting from the middle of runs must shift
  // later entries back so none becomes unreachable (no tombstones).
  const keys = Array.from({ length: 3000 }, (_, i) => BigInt(i) * 0x100000001n);
  keys.forEach((k, i) => t.set(k, i + 1));
  for (let i = 0; i < keys.length; i += 2) t.deleteAt(t.indexOf(keys[i]!));
  for (let i = 0; i < keys.length; i++) assert.equal(t.get(keys[i]!), i % 2 === 0 ? 0 : i + 1);
  assert.equal(t.size, 1 + keys.length / 2);
});
