import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendToken, BlockManager, type CacheSequence } from '../../../src/twin/core/block-manager.ts';
import { hashBlocks, rootHash } from '../../../src/twin/core/block-hash.ts';
import { range } from './helpers.ts';

function seq(tokens: number[], salt?: string): CacheSequence {
  return { tokens: Uint32Array.from(tokens), numTokens: tokens.length, rootHash: rootHash(salt), blockHashes: [], blocks: [], numRegisteredBlocks: 0 };
}

/** Allocates and "computes" a whole sequence, then registers its full blocks. */
function computeAll(bm: BlockManager, s: CacheSequence): void {
  const hits = bm.findCachedPrefix(s);
  assert.ok(bm.allocate(s, s.tokens.length, hits));
  bm.cacheComputed(s, s.tokens.length);
}

test('hashBlocks covers full blocks only, chains on the parent and is salted', () => {
  const tokens = range(40);
  const h = hashBlocks(tokens, 16);
  assert.equal(h.length, 2);
  assert.deepEqual(hashBlocks(tokens.slice(0, 32), 16), h);
  assert.deepEqual(hashBlocks(tokens.slice(0, 16), 16), h.slice(0, 1));
  // Same second block after a different first block: a different key (chained).
  const other = [...range(16, 100), ...range(16, 16)];
  assert.notEqual(hashBlocks(other, 16)[1], h[1]);
  assert.notEqual(hashBlocks(tokens, 16, 'tenant-a')[0], h[0]);
  assert.deepEqual(hashBlocks(tokens, 16, 'tenant-a'), hashBlocks(tokens, 16, 'tenant-a'));
  assert.throws(() => hashBlocks(tokens, 0), /blockSize/);
  // Any array of ids hashes alike, each id taken modulo 2^32; back-to-back calls do not mix buffers.
  assert.deepEqual(hashBlocks(Uint32Array.from(tokens), 16), h);
  assert.deepEqual(hashBlocks([-1, ...range(15)], 16), hashBlocks([0xffffffff, ...range(15)], 16));
  assert.deepEqual([hashBlocks(range(64, 7), 16), hashBlocks(tokens, 16)], [hashBlocks(Uint32Array.from(range(64, 7)), 16), h]);
});

test('prefix hits on a shared prefix, shared blocks are reference counted', () => {
  const bm = new BlockManager({ numBlocks: 16, blockSize: 4 });
  const a = seq([...range(12), 900, 901]);
  computeAll(bm, a);
  assert.equal(a.blocks.length, 4);
  const b = seq([...range(12), 500, 501, 502]);
  const hits = bm.findCachedPrefix(b);
  assert.equal(hits, 3);
  assert.ok(bm.allocate(b, b.tokens.length, hits));
  assert.deepEqual(b.blocks.slice(0, 3), a.blocks.slice(0, 3));
  for (const block of a.blocks.slice(0, 3)) assert.equal(bm.refCountOf(block), 2);
  assert.equal(bm.refCountOf(a.blocks[3]!), 1);
  assert.notEqual(b.blocks[3], a.blocks[3]);
  bm.free(a);
  bm.free(b);
  assert.equal(bm.numUsedBlocks, 0);
  for (let i = 0; i < 16; i++) assert.equal(bm.refCountOf(i), 0);
  assert.throws(() => bm.free({ ...b, blocks: [0] }), /negative/);
});

test('a fully cached prompt still leaves its last token to compute', () => {
  const bm = new BlockManager({ numBlocks: 8, blockSize: 4 });
  computeAll(bm, seq(range(8)));
  assert.equal(bm.findCachedPrefix(seq(range(8))), 1);
  assert.equal(bm.findCachedPrefix(seq(range(9))), 2);
});

test('different cache salts never share blocks', () => {
  const bm = new BlockManager({ numBlocks: 16, blockSize: 4 });
  const a = seq(range(13), 'alice');
  computeAll(bm, a);
  assert.equal(bm.findCachedPrefix(seq(range(13), 'bob')), 0);
  assert.equal(bm.findCachedPrefix(seq(range(13))), 0);
  assert.equal(bm.findCachedPrefix(seq(range(13), 'alice')), 3);
});

test('free cached blocks are evicted least recently freed first, suffix before prefix', () => {
  const bm = new BlockManager({ numBlocks: 4, blockSize: 4 });
  const a = seq(range(8, 0));
  const b = seq(range(8, 100));
  computeAll(bm, a);
  computeAll(bm, b);
  const [a0, a1] = hashBlocks(a.tokens, 4);
  const [b0, b1] = hashBlocks(b.tokens, 4);
  bm.free(a);
  bm.free(b);
  bm.drainEvents();
  assert.equal(bm.numFreeBlocks, 4);
  assert.equal(bm.numCachedBlocks, 4);
  const removed: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    assert.ok(bm.allocate(seq(range(4, 1000 + 10 * i)), 4));
    for (const e of bm.drainEvents()) if (e.type === 'BlockRemoved') removed.push(...e.blockHashes);
  }
  assert.deepEqual(removed, [a1, a0, b1, b0]);
  assert.equal(bm.numCachedBlocks, 0);
  assert.equal(bm.allocate(seq(range(4)), 4), false);
});

test('a cache hit on a free block takes it off the eviction list', () => {
  const bm = new BlockManager({ numBlocks: 3, blockSize: 4 });
  const a = seq(range(8));
  computeAll(bm, a);
  bm.free(a);
  const again = seq(range(9));
  const hits = bm.findCachedPrefix(again);
  assert.equal(hits, 2);
  assert.ok(bm.allocate(again, 9, hits)); // 2 hit blocks + 1 fresh
  assert.equal(bm.numFreeBlocks, 0);
  // No room for one more block, and allocation failed without changing anything.
  const other = seq(range(4, 50));
  assert.equal(bm.allocate(other, 4), false);
  assert.equal(other.blocks.length, 0);
  assert.equal(bm.numCachedBlocks, 2);
});

test('allocation that cannot be satisfied changes nothing', () => {
  const bm = new BlockManager({ numBlocks: 4, blockSize: 4 });
  const a = seq(range(8));
  computeAll(bm, a);
  bm.free(a);
  const b = seq(range(30));
  const hits = bm.findCachedPrefix(b);
  assert.equal(hits, 2);
  assert.equal(bm.allocate(b, 30, hits), false); // needs 8 blocks
  assert.equal(b.blocks.length, 0);
  assert.equal(bm.numFreeBlocks, 4);
  assert.equal(bm.findCachedPrefix(seq(range(9))), 2);
});

test('BlockStored events carry chained keys, the parent and the tokens; duplicates are not re-stored', () => {
  const bm = new BlockManager({ numBlocks: 16, blockSize: 4 });
  const a = seq(range(10), 's');
  assert.ok(bm.allocate(a, 6));
  bm.cacheComputed(a, 6);
  assert.ok(bm.allocate(a, 10));
  bm.cacheComputed(a, 10);
  const keys = hashBlocks(a.tokens, 4, 's');
  assert.deepEqual(bm.drainEvents(), [
    { type: 'BlockStored', blockHashes: [keys[0]], parentBlockHash: null, tokenIds: range(4), blockSize: 4, medium: 'GPU' },
    { type: 'BlockStored', blockHashes: [keys[1]], parentBlockHash: keys[0], tokenIds: range(4, 4), blockSize: 4, medium: 'GPU' },
  ]);
  // A second sequence computing the same blocks concurrently (no hit at admission) stores nothing new.
  const b = seq(range(10), 's');
  assert.ok(bm.allocate(b, 10));
  bm.cacheComputed(b, 10);
  assert.deepEqual(bm.drainEvents(), []);
  bm.free(b); // its unregistered copies return as plain free blocks
  assert.equal(bm.numCachedBlocks, 2);
  assert.equal(bm.findCachedPrefix(seq(range(10), 's')), 2);
});

test('the event buffer is bounded: oldest dropped and counted', () => {
  const bm = new BlockManager({ numBlocks: 64, blockSize: 1, maxBufferedEvents: 5 });
  const a = seq(range(20));
  for (let n = 1; n <= 20; n++) {
    assert.ok(bm.allocate(a, n));
    bm.cacheComputed(a, n);
  }
  const events = bm.drainEvents();
  assert.equal(events.length, 5);
  assert.equal(bm.droppedEvents, 15);
  assert.deepEqual(events.map((e) => (e.type === 'BlockStored' ? e.tokenIds[0] : -1)), [15, 16, 17, 18, 19]);
});

test('recordEvents false keeps no events', () => {
  const bm = new BlockManager({ numBlocks: 8, blockSize: 4, recordEvents: false });
  computeAll(bm, seq(range(16)));
  assert.deepEqual(bm.drainEvents(), []);
  assert.equal(bm.numCachedBlocks, 4);
});

test('bad geometry is refused', () => {
  assert.throws(() => new BlockManager({ numBlocks: 0, blockSize: 16 }), /numBlocks/);
  assert.throws(() => new BlockManager({ numBlocks: 4, blockSize: 1.5 }), /blockSize/);
});

test('random allocate/cache/free keeps every invariant and ends with nothing in use', () => {
  let seed = 99;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const bm = new BlockManager({ numBlocks: 48, blockSize: 4, maxBufferedEvents: 100 });
  const live: CacheSequence[] = [];
  let hitBlocks = 0;
  let evictions = 0;
  let refusals = 0;
  for (let step = 0; step < 4000; step++) {
    const op = rand(3);
    if (op === 0 || live.length === 0) {
      // A new sequence with one of a few shared prefixes.
      const tokens = [...range(4 * rand(4), 1000 * rand(3)), ...range(1 + rand(20), 50_000 + step * 100)];
      const s = seq(tokens, rand(5) === 0 ? 'salted' : undefined);
      const hits = bm.findCachedPrefix(s);
      const n = Math.min(tokens.length, hits * 4 + 1 + rand(8));
      if (bm.allocate(s, n, hits)) {
        bm.cacheComputed(s, n);
        live.push(s);
        hitBlocks += hits;
      } else refusals++;
    } else if (op === 1) {
      // Grow one: compute more of its tokens, generating some.
      const s = live[rand(live.length)]!;
      const target = s.blocks.length * 4 + rand(6);
      while (s.numTokens < target) appendToken(s, 70_000 + rand(1000));
      if (bm.allocate(s, target)) bm.cacheComputed(s, target);
    } else {
      const i = rand(live.length);
      bm.free(live[i]!);
      live.splice(i, 1);
    }
    for (const e of bm.drainEvents()) if (e.type === 'BlockRemoved') evictions += e.blockHashes.length;
    const problem = bm.checkInvariants();
    assert.equal(problem, null, `step ${step}: ${problem}`);
    const held = live.reduce((n, s) => n + s.blocks.length, 0);
    let refs = 0;
    for (let b = 0; b < 48; b++) refs += bm.refCountOf(b);
    assert.equal(refs, held);
  }
  for (const s of live) bm.free(s);
  assert.equal(bm.numUsedBlocks, 0);
  assert.equal(bm.checkInvariants(), null);
  // The run exercised hits, evictions and refusals, not just the easy path.
  assert.ok(hitBlocks > 0 && evictions > 0 && refusals > 0, `hits ${hitBlocks}, evictions ${evictions}, refusals ${refusals}`);
});
