import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RadixTree, textUnits } from '../../src/kv/radix-tree.ts';

test('match lengths per tenant follow the longest inserted prefix', () => {
  const tree = new RadixTree(1000);
  tree.insert(textUnits('hello world'), 'a', 1);
  tree.insert(textUnits('hello there'), 'b', 2);
  const m = tree.matchLengths(textUnits('hello world!'));
  assert.equal(m.get('a'), 11);
  assert.equal(m.get('b'), 6);
  assert.equal(tree.matchLengths(textUnits('xyz')).size, 0);
  assert.equal(tree.sizeOf('a'), 11);
  assert.equal(tree.sizeOf('b'), 11);
});

test('splitting an edge keeps both tenants and their lengths', () => {
  const tree = new RadixTree(1000);
  tree.insert([1, 2, 3, 4], 'a', 1);
  tree.insert([1, 2, 9], 'a', 2);
  assert.equal(tree.matchLengths([1, 2, 3, 4]).get('a'), 4);
  assert.equal(tree.matchLengths([1, 2, 9, 9]).get('a'), 3);
  assert.equal(tree.sizeOf('a'), 5);
});

test('eviction removes least recently used leaves and keeps the tenant within budget', () => {
  const tree = new RadixTree(10);
  tree.insert([1, 1, 1, 1, 1], 'a', 1);
  tree.insert([2, 2, 2, 2, 2], 'a', 2);
  tree.insert([3, 3, 3, 3, 3], 'a', 3); // 15 > 10: evict to 9, the oldest goes first
  assert.ok(tree.sizeOf('a') <= 10);
  assert.equal(tree.matchLengths([1, 1, 1, 1, 1]).get('a'), undefined);
  assert.equal(tree.matchLengths([3, 3, 3, 3, 3]).get('a'), 5);
  tree.insert([1, 1], 'b', 4);
  tree.removeTenant('a');
  assert.equal(tree.sizeOf('a'), 0);
  assert.equal(tree.matchLengths([1, 1]).get('b'), 2);
});
