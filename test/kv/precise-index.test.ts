// Event-specific behaviour of the precise index: dual keys, removal, clears, tiers, speculation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PreciseIndex } from '../../src/kv/precise-index.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';

const BS = 4;
const t = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const keys = hashBlocks(t, BS);

function stored(hashes: bigint[], parent: bigint | null, tokenIds: number[], medium?: string) {
  return { type: 'BlockStored' as const, blockHashes: hashes, parentBlockHash: parent, tokenIds, blockSize: BS, medium };
}

test('BlockStored across several events chains through the engine parent hash', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n], null, t.slice(0, 4)));
  ix.applyEvent('a', stored([102n, 103n], 101n, t.slice(4, 12)));
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [3]);
});

test('BlockRemoved by engine hash breaks the chain at that block', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n, 102n, 103n], null, t));
  ix.applyEvent('a', { type: 'BlockRemoved', blockHashes: [102n] });
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [1]);
  ix.applyEvent('a', { type: 'BlockRemoved', blockHashes: [999n] });
  assert.equal(ix.stats.unknownRemovals, 1);
});

test('AllBlocksCleared empties one endpoint only', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n, 102n, 103n], null, t));
  ix.applyEvent('b', stored([201n, 202n, 203n], null, t));
  ix.applyEvent('a', { type: 'AllBlocksCleared' });
  assert.deepEqual(ix.matchedBlocks(keys, ['a', 'b'], 0), [0, 3]);
  assert.equal(ix.size(), 3);
});

test('CPU-tier blocks weigh 0.8; a block in both tiers counts as GPU until the GPU copy goes', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n, 102n, 103n], null, t, 'CPU'));
  assert.ok(Math.abs(ix.matchedBlocks(keys, ['a'], 0)[0]! - 2.4) < 1e-9);
  ix.applyEvent('a', stored([101n], null, t.slice(0, 4), 'GPU'));
  assert.ok(Math.abs(ix.matchedBlocks(keys, ['a'], 0)[0]! - 2.6) < 1e-9);
  ix.applyEvent('a', { type: 'BlockRemoved', blockHashes: [101n], medium: 'GPU' });
  assert.ok(Math.abs(ix.matchedBlocks(keys, ['a'], 0)[0]! - 2.4) < 1e-9);
});

test('speculative entries count until their TTL, and an event confirms them', () => {
  const ix = new PreciseIndex({ speculativeTtlSeconds: 2 });
  ix.recordDecision('a', keys, 10);
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 11), [3]);
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 12.5), [0], 'expired');
  ix.recordDecision('b', keys, 10);
  ix.applyEvent('b', stored([1n, 2n, 3n], null, t));
  assert.deepEqual(ix.matchedBlocks(keys, ['b'], 100), [3], 'confirmed by the event, no longer speculative');
});

test('a malformed event with too few tokens stores what it can and does not throw', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n, 102n, 103n], null, t.slice(0, 6)));
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [1]);
});

test('salted requests never match unsalted blocks', () => {
  const ix = new PreciseIndex();
  ix.applyEvent('a', stored([101n, 102n, 103n], null, t));
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, 'tenant-1'), ['a'], 0), [0]);
});

test('vLLM extra keys: [LoRA adapter] + multimodal keys + [cache_salt]; each adapter and salt is its own namespace', () => {
  // Three engine hash sets for the same tokens, under (adapter, salt) as vLLM's events name them.
  const ix = new PreciseIndex();
  const ns = (adapter: string | undefined, salt: string | undefined) => [...(adapter ? [adapter] : []), ...(salt ? [salt] : [])];
  const store = (ep: string, adapter: string | undefined, salt: string | undefined) =>
    ix.applyEvent(ep, { ...stored([201n, 202n, 203n], null, t), ...(adapter ? { loraName: adapter, loraId: 1 } : {}), extraKeys: [ns(adapter, salt), null, null] });
  store('lora', 'sql-lora', undefined);
  store('lora-salted', 'sql-lora', 'tenant-1');
  store('salted', undefined, 'tenant-1');
  const eps = ['lora', 'lora-salted', 'salted'];
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, undefined, 'sql-lora'), eps, 0), [3, 0, 0], 'the adapter alone');
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, 'tenant-1', 'sql-lora'), eps, 0), [0, 3, 0], 'the adapter under the salt');
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, 'tenant-1'), eps, 0), [0, 0, 3], 'the salt without an adapter');
  assert.deepEqual(ix.matchedBlocks(keys, eps, 0), [0, 0, 0], 'the base model shares nothing with them');
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, undefined, 'other-lora'), eps, 0), [0, 0, 0], 'nor does another adapter');
  // An old release names the adapter only by its int id (first extra key): no request can match it,
  // in particular not the base model's; a multimodal key (not a string) likewise.
  const old = new PreciseIndex();
  old.applyEvent('a', { ...stored([301n, 302n, 303n], null, t), loraId: 7, extraKeys: [[7], null, null] });
  old.applyEvent('b', { ...stored([401n, 402n, 403n], null, t), extraKeys: [[['mm-hash', 0]], null, null] });
  assert.deepEqual(old.matchedBlocks(keys, ['a', 'b'], 0), [0, 0]);
});

test('vLLM extra keys on later blocks: an adapter\'s name alone keeps matching, a media hash keys the block and its descendants apart', () => {
  const ix = new PreciseIndex();
  // The adapter's name is in every block's extra keys (vLLM), which is no reason to stop matching.
  ix.applyEvent('lora', { ...stored([201n, 202n, 203n], null, t), loraName: 'sql-lora', extraKeys: [['sql-lora'], ['sql-lora'], ['sql-lora']] });
  // An image in the second block: its placeholder tokens are the same whichever image it is.
  ix.applyEvent('image', { ...stored([301n, 302n, 303n], null, t), extraKeys: [null, [['img-hash', 0]], null] });
  assert.deepEqual(ix.matchedBlocks(hashBlocks(t, BS, undefined, 'sql-lora'), ['lora'], 0), [3]);
  assert.deepEqual(ix.matchedBlocks(keys, ['image'], 0), [1], 'only the block before the image');
});

test('data-parallel ranks: an endpoint matches what its ranks hold on average, or its own speculative entries if longer', () => {
  const ix = new PreciseIndex();
  ix.setRanks('e', ['e#dp0', 'e#dp1']);
  ix.applyEvent('e#dp0', stored([101n, 102n, 103n], null, t)); // rank 0 holds all three blocks
  ix.applyEvent('e#dp1', stored([201n], null, t.slice(0, BS))); // rank 1 the first
  ix.applyEvent('plain', stored([301n, 302n], null, t.slice(0, 2 * BS)));
  assert.deepEqual(ix.matchedBlocks(keys, ['e', 'plain'], 0), [2, 2], 'e: (3 + 1) / 2; plain as before');
  ix.applyEvent('e#dp1', { type: 'AllBlocksCleared' }); // one rank's restart leaves the other's blocks
  assert.deepEqual(ix.matchedBlocks(keys, ['e'], 0), [1.5]);
  ix.recordDecision('e', keys, 0); // the router's own decision: the whole prompt, for its TTL
  assert.deepEqual(ix.matchedBlocks(keys, ['e'], 1), [3]);
});

test('hybrid models: one KV cache group indexed, full attention when the engine has it; other groups\' evictions do not erase it', () => {
  const ix = new PreciseIndex();
  const group = (groupIdx: number, kvCacheSpecKind: string) => ({ ...stored([101n, 102n, 103n], null, t), groupIdx, kvCacheSpecKind });
  // gpt-oss-like: a sliding-window group (published first here) and a full-attention group, same hashes.
  ix.applyEvent('a', group(1, 'sliding_window'));
  ix.applyEvent('a', group(0, 'full_attention'));
  ix.applyEvent('a', { type: 'BlockRemoved', blockHashes: [102n, 103n], groupIdx: 1 }); // the window slid on
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [3], 'the full-attention group still holds all three');
  ix.applyEvent('a', { type: 'BlockRemoved', blockHashes: [103n], groupIdx: 0 });
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [2], 'its own eviction counts');
  ix.applyEvent('a', group(1, 'sliding_window')); // another group's store neither adds nor counts as stored
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [2]);
  assert.equal(ix.stats.otherGroupEvents, 2);
  // A model with only sliding-window layers has one group, and it is indexed.
  ix.applyEvent('b', group(0, 'sliding_window'));
  assert.deepEqual(ix.matchedBlocks(keys, ['a', 'b'], 0), [2, 3]);
});

test('engineHashesAreKeys: engines hashing like us (the twin) skip the re-hash and still match', () => {
  const ix = new PreciseIndex({ engineHashesAreKeys: true });
  ix.applyEvent('a', stored(keys, null, t));
  assert.deepEqual(ix.matchedBlocks(keys, ['a'], 0), [3]);
});

test('matches agree with a plain model: longest held run (CPU-only blocks at 0.8) or longest live decision', () => {
  let x = 12345;
  const rand = (n: number) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x >>> 8) % n;
  };
  // Prompts branching off each other at random points, so chains share prefixes of many lengths.
  const prompts: number[][] = [Array.from({ length: 40 }, (_, i) => i + 1)];
  for (let p = 1; p < 12; p++) {
    const base = prompts[rand(p)]!;
    const cut = rand(10) * BS;
    prompts.push([...base.slice(0, cut), ...Array.from({ length: 40 - cut }, () => 1000 + rand(50_000))]);
  }
  const chains = prompts.map((ids) => hashBlocks(ids, BS));
  const ix = new PreciseIndex({ speculativeTtlSeconds: 2, engineHashesAreKeys: true });
  const eps = ['a', 'b', 'c'];
  const held = new Map(eps.map((e) => [e, new Map<bigint, Set<string>>()]));
  const decisions: Array<{ ep: string; keys: bigint[]; at: number }> = [];
  for (let now = 0; now < 30; now += 0.25) {
    const ep = eps[rand(3)]!;
    const chain = chains[rand(chains.length)]!;
    const upTo = 1 + rand(chain.length);
    const op = rand(4);
    if (op === 0) {
      ix.recordDecision(ep, chain.slice(0, upTo), now);
      decisions.push({ ep, keys: chain.slice(0, upTo), at: now });
    } else if (op === 3) {
      const k = chain[rand(upTo)]!;
      ix.applyEvent(ep, { type: 'BlockRemoved', blockHashes: [k], medium: 'GPU' });
      held.get(ep)!.get(k)?.delete('GPU');
    } else {
      const medium = op === 1 ? 'GPU' : 'CPU';
      ix.applyEvent(ep, stored(chain.slice(0, upTo), null, [], medium));
      for (const k of chain.slice(0, upTo)) {
        const tiers = held.get(ep)!.get(k) ?? new Set<string>();
        tiers.add(medium);
        held.get(ep)!.set(k, tiers);
      }
    }
    for (const query of chains) {
      const want = eps.map((e) => {
        let run = 0;
        let cpuOnly = 0;
        for (const k of query) {
          const tiers = held.get(e)!.get(k);
          if (!tiers || tiers.size === 0) break;
          run++;
          if (!tiers.has('GPU')) cpuOnly++;
        }
        let best = run - 0.2 * cpuOnly;
        for (const d of decisions) {
          if (d.ep !== e || d.at + 2 <= now) continue;
          let common = 0;
          while (common < d.keys.length && common < query.length && d.keys[common] === query[common]) common++;
          best = Math.max(best, common);
        }
        return best;
      });
      const got = ix.matchedBlocks(query, eps, now);
      for (let i = 0; i < eps.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-9, `at ${now} s, ${eps[i]}: got ${got[i]}, want ${want[i]}`);
    }
  }
});
