import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenizationCache } from '../../src/kv/tokenization-cache.ts';

const encode = (t: string) => [...t].map((c) => c.charCodeAt(0));

test('caches per (model, text) and counts hits', () => {
  const c = new TokenizationCache();
  let calls = 0;
  const enc = (t: string) => (calls++, encode(t));
  assert.deepEqual(c.get('m', 'abc', enc), [97, 98, 99]);
  assert.deepEqual(c.get('m', 'abc', enc), [97, 98, 99]);
  c.get('other-model', 'abc', enc);
  assert.equal(calls, 2);
  assert.equal(c.hits, 1);
});

test('bounded by entries and by total tokens', () => {
  const byEntries = new TokenizationCache({ maxEntries: 2 });
  for (const t of ['a', 'b', 'c']) byEntries.get('m', t, encode);
  assert.equal(byEntries.size, 2);
  const byTokens = new TokenizationCache({ maxTokens: 10 });
  for (const t of ['aaaa', 'bbbb', 'cccc']) byTokens.get('m', t, encode);
  assert.ok(byTokens.heldTokens <= 10);
  assert.equal(byTokens.size, 2);
  const huge = byTokens.get('m', 'x'.repeat(50), encode);
  assert.equal(huge.length, 50, 'an oversized prompt is encoded but not cached');
  assert.ok(byTokens.heldTokens <= 10);
});

test('block keys are computed once per block size and salt and match hashBlocks', async () => {
  const { hashBlocks } = await import('../../src/twin/core/block-hash.ts');
  const c = new TokenizationCache();
  const p = c.lookup('m', 'x'.repeat(40), encode);
  const k = p.blockKeys(16);
  assert.equal(p.blockKeys(16), k, 'same array: cached');
  assert.deepEqual(k, hashBlocks(p.ids, 16));
  assert.notDeepEqual(p.blockKeys(16, 'salt'), k);
  assert.equal(c.lookup('m', 'x'.repeat(40), encode), p);
});

test('keys (model, text) exactly, for any text length and any characters', () => {
  const c = new TokenizationCache();
  let calls = 0;
  const enc = (t: string) => (calls++, [t.length]);
  c.get('ab', 'c', enc);
  c.get('a', 'bc', enc);
  assert.equal(calls, 2, 'the model ends where the text begins');
  const texts = ['é€😀 mixed', 'é€😀 mixeD', 'y'.repeat(70_000), 'y'.repeat(69_999) + 'z', 'w'.repeat(1_500_000), 'w'.repeat(1_499_999) + 'v'];
  for (const t of texts) c.get('m', t, enc); // short, past the first scratch buffer, past its 4 MiB cap
  for (const t of texts) c.get('m', t, enc);
  assert.equal(calls, 2 + texts.length, 'each text is a miss once, then a hit');
});
