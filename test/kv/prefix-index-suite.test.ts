// One behavioural suite, run against every PrefixIndex implementation. Each implementation is
// driven through `place` (how it learns that an endpoint holds a token prefix: a routing decision
// for the approximate index, engine KV events for the precise one) and queried with the keys its
// scorer would compute.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApproximateIndex } from '../../src/kv/approximate-index.ts';
import { approxKeysFromTokens } from '../../src/kv/approx-keys.ts';
import { PreciseIndex } from '../../src/kv/precise-index.ts';
import type { PrefixIndex } from '../../src/kv/prefix-index.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';

const BS = 16;

interface Subject {
  name: string;
  make(capacity: number): PrefixIndex;
  keys(tokens: number[]): bigint[];
  place(index: PrefixIndex, endpoint: string, tokens: number[]): void;
}

const subjects: Subject[] = [
  {
    name: 'approximate',
    make: (capacity) => new ApproximateIndex({ capacityFor: () => capacity }),
    keys: (t) => approxKeysFromTokens(t, 'm'),
    place: (ix, ep, t) => ix.recordDecision(ep, approxKeysFromTokens(t, 'm'), 0),
  },
  {
    name: 'precise',
    make: (capacity) => new PreciseIndex({ maxBlocksPerEndpoint: capacity }),
    keys: (t) => hashBlocks(t, BS),
    // The engine publishes its own (different) hashes; the index must map them to our keys.
    place: (ix, ep, t) => {
      const n = Math.floor(t.length / BS);
      const engineHashes = Array.from({ length: n }, (_, i) => BigInt(ep.charCodeAt(0)) * 1_000_000n + BigInt(t[i * BS]!) * 1000n + BigInt(i));
      (ix as PreciseIndex).applyEvent(ep, { type: 'BlockStored', blockHashes: engineHashes, parentBlockHash: null, tokenIds: t.slice(0, n * BS), blockSize: BS });
    },
  },
  {
    name: 'precise, engine hashes are our keys (the twin)',
    make: (capacity) => new PreciseIndex({ maxBlocksPerEndpoint: capacity, engineHashesAreKeys: true }),
    keys: (t) => hashBlocks(t, BS),
    place: (ix, ep, t) => {
      const n = Math.floor(t.length / BS);
      (ix as PreciseIndex).applyEvent(ep, { type: 'BlockStored', blockHashes: hashBlocks(t, BS), parentBlockHash: null, tokenIds: t.slice(0, n * BS), blockSize: BS });
    },
  },
];

function tokens(seed: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 31) % 50_000);
}

for (const s of subjects) {
  describe(`PrefixIndex contract: ${s.name}`, () => {
    test('empty index matches nothing', () => {
      const ix = s.make(1000);
      assert.deepEqual(ix.matchedBlocks(s.keys(tokens(1, 64)), ['a', 'b'], 0), [0, 0]);
      assert.equal(ix.size(), 0);
    });

    test('a stored prefix matches fully on its endpoint only', () => {
      const ix = s.make(1000);
      const t = tokens(1, 64);
      s.place(ix, 'a', t);
      assert.deepEqual(ix.matchedBlocks(s.keys(t), ['a', 'b'], 0), [4, 0]);
    });

    test('a request diverging after two blocks matches two', () => {
      const ix = s.make(1000);
      const t = tokens(1, 64);
      s.place(ix, 'a', t);
      const other = [...t.slice(0, 2 * BS), ...tokens(9, 32)];
      assert.deepEqual(ix.matchedBlocks(s.keys(other), ['a'], 0), [2]);
    });

    test('the match is the unbroken run from block 0', () => {
      const ix = s.make(1000);
      const t = tokens(1, 64);
      s.place(ix, 'a', t);
      const changedFirst = [999, ...t.slice(1)];
      assert.deepEqual(ix.matchedBlocks(s.keys(changedFirst), ['a'], 0), [0]);
    });

    test('longer prompts match the stored prefix length', () => {
      const ix = s.make(1000);
      const t = tokens(3, 128);
      s.place(ix, 'a', t.slice(0, 48));
      s.place(ix, 'b', t);
      assert.deepEqual(ix.matchedBlocks(s.keys(t), ['a', 'b', 'c'], 0), [3, 8, 0]);
    });

    test('bounded: capacity caps what one endpoint holds', () => {
      const ix = s.make(10);
      for (let r = 0; r < 20; r++) s.place(ix, 'a', tokens(100 + r, 64));
      assert.ok(ix.size() <= 10, `size ${ix.size()}`);
      // The most recent request is still fully matched; the oldest is gone.
      assert.equal(ix.matchedBlocks(s.keys(tokens(119, 64)), ['a'], 0)[0], 4);
      assert.equal(ix.matchedBlocks(s.keys(tokens(100, 64)), ['a'], 0)[0], 0);
    });

    test('removeEndpoint forgets an endpoint and leaves others', () => {
      const ix = s.make(1000);
      const t = tokens(1, 64);
      s.place(ix, 'a', t);
      s.place(ix, 'b', t);
      ix.removeEndpoint('a');
      assert.deepEqual(ix.matchedBlocks(s.keys(t), ['a', 'b'], 0), [0, 4]);
    });
  });
}
