import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deque } from '../../../src/twin/core/deque.ts';

test('deque: both ends, growth across the wrap, removeIf keeps order', () => {
  const d = new Deque<number>();
  for (let i = 0; i < 10; i++) d.pushBack(i);
  for (let i = 0; i < 5; i++) assert.equal(d.popFront(), i);
  for (let i = 10; i < 30; i++) d.pushBack(i); // wraps, then grows
  d.pushFront(4);
  d.pushFront(3);
  assert.equal(d.length, 27);
  assert.equal(d.peekFront(), 3);
  d.removeIf((x) => x % 2 === 1);
  const out: number[] = [];
  for (let x = d.popFront(); x !== undefined; x = d.popFront()) out.push(x);
  assert.deepEqual(out, [4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
  assert.equal(d.popFront(), undefined);
  d.pushBack(1);
  assert.equal(d.length, 1);
});
