// The approximate index past 31 endpoints, where a key's holders move from a bitmask to a set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApproximateIndex } from '../../src/kv/approximate-index.ts';

test('40 endpoints: matches, LRU eviction and removal hold on both sides of the bitmask', () => {
  const ix = new ApproximateIndex({ capacityFor: () => 4 });
  const ids = Array.from({ length: 40 }, (_, i) => `ep${i}`);
  const keys = [1n, 2n, 3n];
  // Endpoint i records the first 1 + (i % 3) keys.
  ids.forEach((id, i) => ix.recordDecision(id, keys.slice(0, 1 + (i % 3))));
  assert.deepEqual(ix.matchedBlocks(keys, ids), ids.map((_, i) => 1 + (i % 3)));
  // Eviction: ep2 and ep35 (both hold 3 keys, capacity 4) take two new keys; key 1, the eldest, goes.
  for (const id of ['ep2', 'ep35']) ix.recordDecision(id, [10n, 11n]);
  assert.deepEqual(ix.matchedBlocks(keys, ['ep2', 'ep35', 'ep5', 'ep38']), [0, 0, 3, 3]);
  assert.deepEqual(ix.matchedBlocks([10n, 11n], ['ep2', 'ep35']), [2, 2], 'the new keys are held');
  // Removing an endpoint forgets it; a newcomer reuses its slot without inheriting its blocks.
  ix.removeEndpoint('ep5');
  ix.removeEndpoint('ep38');
  assert.deepEqual(ix.matchedBlocks(keys, ['ep5', 'ep38', 'ep8']), [0, 0, 3]);
  ix.recordDecision('new-a', [1n]);
  ix.recordDecision('new-b', [1n, 2n]);
  assert.deepEqual(ix.matchedBlocks(keys, ['new-a', 'new-b', 'never-seen']), [1, 2, 0]);
  assert.equal(ix.size(), ids.reduce((n, _, i) => n + (i === 5 || i === 38 ? 0 : i === 2 || i === 35 ? 4 : 1 + (i % 3)), 0) + 3);
});
