import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualAdmissionQueue } from '../../../src/sim/cluster/admission.ts';

test('admission queue: bounded, first come first served, a refusal stops the drain', () => {
  const q = new VirtualAdmissionQueue<string>({ size: 3, timeoutSeconds: 10 });
  assert.equal(q.offer('a', 0), true);
  assert.equal(q.offer('b', 1), true);
  assert.equal(q.offer('c', 2), true);
  assert.equal(q.offer('d', 3), false, 'full');
  const taken: string[] = [];
  q.drain((x) => x !== 'b' && (taken.push(x), true));
  assert.deepEqual(taken, ['a'], 'b refused: c waits behind it');
  assert.equal(q.depth, 2);
  q.drain((x) => (taken.push(x), true), 1);
  assert.deepEqual(taken, ['a', 'b'], 'max 1');
  assert.equal(q.offer('d', 3), true, 'room again');
});

test('admission queue: waits past the timeout expire, oldest first, and only those', () => {
  const q = new VirtualAdmissionQueue<number>({ size: 10, timeoutSeconds: 5 });
  for (let t = 0; t < 4; t++) q.offer(t, t);
  assert.deepEqual(q.expire(4.9), []);
  assert.deepEqual(q.expire(6), [0, 1]);
  assert.equal(q.depth, 2);
  const rest: number[] = [];
  q.drain((x) => (rest.push(x), true));
  assert.deepEqual(rest, [2, 3]);
  assert.deepEqual(q.expire(100), [], 'drained waiters do not expire');
});

test('admission queue: size 0 refuses everything; long runs keep memory bounded', () => {
  assert.equal(new VirtualAdmissionQueue({ size: 0, timeoutSeconds: 1 }).offer('x', 0), false);
  const q = new VirtualAdmissionQueue<number>({ size: 4, timeoutSeconds: 1 });
  for (let i = 0; i < 100_000; i++) {
    q.offer(i, i);
    q.drain(() => true);
  }
  assert.equal(q.depth, 0);
  assert.ok((q as unknown as { waiters: unknown[] }).waiters.length <= 2048, 'the consumed prefix is dropped');
});
