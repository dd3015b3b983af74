import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { decodeEventBatch, encodeEventBatch, normalizeBlockHash, type EventBatch } from '../../../src/kv/events/index.ts';

const sample: EventBatch = {
  ts: 1732250000.25,
  events: [
    { type: 'BlockStored', blockHashes: [1n, 0xffff_ffff_ffff_fff0n], parentBlockHash: null, tokenIds: [1, 2, 3, 4], blockSize: 2, medium: 'GPU' },
    { type: 'BlockStored', blockHashes: [3n], parentBlockHash: 0xffff_ffff_ffff_fff0n, tokenIds: [5, 6], blockSize: 2, medium: 'GPU' },
    { type: 'BlockRemoved', blockHashes: [1n], medium: 'GPU' },
    { type: 'AllBlocksCleared' },
  ],
  dataParallelRank: null,
};

function essentials(batch: EventBatch): unknown {
  return batch.events.map((e) => {
    if (e.type === 'BlockStored') return [e.type, e.blockHashes, e.parentBlockHash, e.tokenIds, e.blockSize, e.medium];
    if (e.type === 'BlockRemoved') return [e.type, e.blockHashes, e.medium];
    return [e.type];
  });
}

for (const encoding of ['array', 'map'] as const) {
  test(`round-trips a batch in the ${encoding} encoding`, () => {
    const r = decodeEventBatch(encodeEventBatch(sample, encoding));
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.batch.ts, sample.ts);
    assert.equal(r.skippedEvents, 0);
    assert.deepEqual(essentials(r.batch), essentials(sample));
  });
}

test('the array encoding is positional with vLLM field order; the map encoding uses vLLM field names', async () => {
  const { decode } = await import('@msgpack/msgpack');
  const arr = decode(encodeEventBatch(sample, 'array'), { useBigInt64: true }) as unknown[];
  const stored = (arr[1] as unknown[][])[0]!;
  assert.equal(stored[0], 'BlockStored');
  assert.deepEqual(stored[3], [1, 2, 3, 4]); // token_ids third after the tag
  assert.equal(stored[4], 2); // block_size
  assert.equal(stored[6], 'GPU'); // medium
  // omit_defaults: trailing None fields (kv_cache_spec_kind, sliding window) are left out, but the
  // None extra_keys before group_idx must stay to keep positions.
  assert.deepEqual(stored.slice(5), [null, 'GPU', null, null, 0]);
  assert.equal(arr.length, 2, 'data_parallel_rank None is omitted');
  const map = decode(encodeEventBatch(sample, 'map'), { useBigInt64: true }) as Record<string, unknown>;
  assert.deepEqual(Object.keys(map), ['ts', 'events']);
  const ev = (map.events as Record<string, unknown>[])[1]!;
  assert.deepEqual(Object.keys(ev), ['type', 'block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name', 'group_idx']);
  assert.equal(ev.type, 'BlockStored');
  assert.deepEqual(ev.block_hashes, [3n]);
  assert.equal(ev.parent_block_hash, 0xffff_ffff_ffff_fff0n);
  const ranked = decode(encodeEventBatch({ ...sample, dataParallelRank: 2 }, 'map'), { useBigInt64: true }) as Record<string, unknown>;
  assert.equal(ranked.data_parallel_rank, 2);
});

test('decodes a hand-assembled positional batch with trailing fields omitted (golden bytes)', () => {
  const hex = [
    '93', 'cb3ff8000000000000', // [1.5,
    '91', '97', 'ab' + Buffer.from('BlockStored').toString('hex'), // [["BlockStored",
    '91cfffffffffffffffff', 'c0', '920102', '02', 'c0', 'a3' + Buffer.from('GPU').toString('hex'), // hashes, parent, tokens, size, lora, medium]]
    'c0', // data_parallel_rank
  ].join('');
  const r = decodeEventBatch(Buffer.from(hex, 'hex'));
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.batch.ts, 1.5);
  const e = r.batch.events[0]!;
  assert.equal(e.type, 'BlockStored');
  assert.ok(e.type === 'BlockStored');
  assert.deepEqual(e.blockHashes, [0xffff_ffff_ffff_ffffn]);
  assert.deepEqual(e.tokenIds, [1, 2]);
  assert.equal(e.groupIdx, null);
});

test('normalises int64, uint64, small ints and sha256 bytes to the last 8 bytes big-endian', () => {
  assert.equal(normalizeBlockHash(-1n), 0xffff_ffff_ffff_ffffn);
  assert.equal(normalizeBlockHash(-2), 0xffff_ffff_ffff_fffen);
  assert.equal(normalizeBlockHash(42), 42n);
  const digest = Buffer.alloc(32, 0xaa);
  digest.writeBigUInt64BE(0x0102030405060708n, 24);
  assert.equal(normalizeBlockHash(digest), 0x0102030405060708n);
  assert.equal(normalizeBlockHash(Buffer.from([1, 2])), 0x0102n);
  assert.equal(normalizeBlockHash('abc'), undefined);
  assert.equal(normalizeBlockHash(1.5), undefined);
});

test('decodes map events with bytes hashes, unknown fields and a map batch; skips unknown event types', () => {
  const digest = Buffer.alloc(32, 0);
  digest[31] = 7;
  const payload = encode({
    ts: 10,
    events: [
      { type: 'BlockStored', block_hashes: [digest], parent_block_hash: -5, token_ids: [9], block_size: 1, future_field: { x: 1 } },
      { type: 'BlockEvictedToMars', block_hashes: [1] },
      ['BlockRemoved', [digest]],
      { type: 'AllBlocksCleared', extra: true },
    ],
    data_parallel_rank: 3,
    another_new_field: 'ignored',
  });
  const r = decodeEventBatch(payload);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.batch.dataParallelRank, 3);
  assert.equal(r.skippedEvents, 1);
  assert.deepEqual(r.batch.events.map((e) => e.type), ['BlockStored', 'BlockRemoved', 'AllBlocksCleared']);
  const stored = r.batch.events[0]!;
  assert.ok(stored.type === 'BlockStored');
  assert.deepEqual(stored.blockHashes, [7n]);
  assert.equal(stored.parentBlockHash, 0xffff_ffff_ffff_fffbn);
});

test('a malformed event is skipped and counted, the rest of the batch survives', () => {
  const payload = encode([1, [
    ['BlockStored', 'not-a-list', null, [1], 1],
    ['BlockStored', [1], null, [-3], 1],
    ['BlockStored', [1], null, [1], 0],
    ['BlockRemoved', [2]],
    42,
  ]]);
  const r = decodeEventBatch(payload);
  assert.ok(r.ok);
  assert.equal(r.skippedEvents, 4);
  assert.deepEqual(r.batch.events.map((e) => e.type), ['BlockRemoved']);
});

test('whole-message garbage is an error result, never an exception', () => {
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Buffer.from('hello'),
    encode('a string'),
    encode([]),
    encode(['ts', []]),
    encode([1, 'events']),
    encode({ ts: 1 }),
    Buffer.from('dd7fffffff', 'hex'), // array header claiming 2^31 elements
    Buffer.from('c6ffffffff', 'hex'), // bin header claiming 4 GiB
    Buffer.concat([encode([1, []]), Buffer.from([0])]), // trailing bytes
  ];
  for (const c of cases) {
    const r = decodeEventBatch(c);
    assert.equal(r.ok, false, `expected an error for ${Buffer.from(c).toString('hex')}`);
  }
});

test('fuzz: random and mutated payloads never throw', () => {
  let state = 0x12345678;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const seeds = [encodeEventBatch(sample, 'array'), encodeEventBatch(sample, 'map')];
  let ok = 0;
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    let buf: Uint8Array;
    if (i % 3 === 0) {
      buf = new Uint8Array(rand(64));
      for (let j = 0; j < buf.length; j++) buf[j] = rand(256);
    } else {
      buf = Uint8Array.from(seeds[i % 2]!);
      const flips = 1 + rand(4);
      for (let j = 0; j < flips; j++) buf[rand(buf.length)] = rand(256);
      if (rand(4) === 0) buf = buf.subarray(0, rand(buf.length));
    }
    const r = decodeEventBatch(buf);
    assert.equal(typeof r.ok, 'boolean');
    if (r.ok) {
      ok++;
      assert.ok(Array.isArray(r.batch.events));
      for (const e of r.batch.events) assert.ok(['BlockStored', 'BlockRemoved', 'AllBlocksCleared'].includes(e.type));
    } else {
      bad++;
      assert.equal(typeof r.error, 'string');
    }
  }
  assert.ok(ok > 0 && bad > 0, `both outcomes should occur (ok ${ok}, bad ${bad})`);
});
