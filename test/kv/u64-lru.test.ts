// U64LruSet against LruMap, the obvious model: same keys, same recency order, same evictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from '../../src/kv/lru.ts';
import { U64LruSet } from '../../src/kv/u64-lru.ts';

test('U64LruSet evicts and orders exactly as an LRU map over the same touches', () => {
  for (const capacity of [1, 3, 17, 100]) {
    const lru = new U64LruSet(capacity);
    const model = new LruMap<bigint, true>(capacity);
    const modelEvicted: bigint[] = [];
    model.onEvict = (k) => modelEvicted.push(k);
    const evicted: bigint[] = [];
    let x = 7;
    for (let i = 0; i < 5000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Keys spread over the whole 64-bit range, with repeats so that touches move keys.
      const key = (BigInt(x % (capacity * 3)) * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn;
      const out = lru.touch(key);
      if (out !== undefined) evicted.push(out);
      model.set(key, true);
    }
    assert.deepEqual(evicted, modelEvicted, `capacity ${capacity}`);
    assert.deepEqual([...lru.keys()], [...model.keys()]);
    assert.equal(lru.size, Math.min(capacity, model.size));
    for (const k of model.keys()) assert.ok(lru.has(k));
  }
  assert.throws(() => new U64LruSet(0), /capacity/);
});
