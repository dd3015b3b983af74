// The gateway's admission queue: priority then arrival order, strict hand-off to the head,
// bounded, timeouts, clients that leave, and one admission per macrotask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdmissionQueue, type QueueExit } from '../../src/gateway/admission-queue.ts';
import { ApiError } from '../../src/http/api-error.ts';

/** After the queue's pending step (queued with setImmediate before this) and what it resolved. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

const queue = (o: { maxSize?: number; timeoutMs?: number; pollMs?: number; onDepth?: (d: number) => void; onExit?: (exit: QueueExit, waited: number) => void } = {}) =>
  new AdmissionQueue<string>({ maxSize: o.maxSize ?? 8, timeoutMs: o.timeoutMs ?? 10_000, pollMs: o.pollMs ?? 10_000, onDepth: o.onDepth, onExit: o.onExit });

/** Room for `n` more; each waiter's admit takes one and says who it was. */
function room(n = 0) {
  const asked: string[] = [];
  return {
    asked,
    set: (m: number) => void (n = m),
    admit: (name: string) => () => {
      asked.push(name);
      return n > 0 ? (n--, name) : undefined;
    },
  };
}

test('admission queue: lower priority value first, FIFO within a priority, bounded with a 429', async () => {
  const depths: number[] = [];
  const q = queue({ maxSize: 3, onDepth: (d) => depths.push(d) });
  const r = room();
  const served: string[] = [];
  const all = [q.enqueue(5, r.admit('a')), q.enqueue(0, r.admit('b')), q.enqueue(0, r.admit('c'))].map((p) => p.then((v) => served.push(v)));
  await assert.rejects(q.enqueue(0, r.admit('d')), (e: ApiError) => e.status === 429 && e.headers['retry-after'] !== undefined && /queue is full/.test(e.message));
  r.set(3);
  q.wake();
  q.wake();
  q.wake();
  await Promise.all(all);
  assert.deepEqual(served, ['b', 'c', 'a']);
  assert.deepEqual(r.asked, ['b', 'c', 'a']);
  assert.equal(q.depth, 0);
  assert.equal(Math.max(...depths), 3);
  assert.equal(depths.at(-1), 0);
});

test('admission queue: strict hand-off, a refusal at the head ends the round; each finish offers one slot', async () => {
  const q = queue();
  const r = room();
  const served: string[] = [];
  const waits = ['a', 'b', 'c'].map((name) => q.enqueue(0, r.admit(name)).then((v) => void served.push(v)));
  q.wake();
  await turn();
  assert.deepEqual(r.asked, ['a'], 'only the head is asked, and it had no room');
  r.set(5);
  q.wake(); // one request finished: one waiter
  await turn();
  await turn();
  assert.deepEqual(served, ['a']);
  assert.equal(q.depth, 2);
  q.drain(new ApiError(503, 'shutting down'));
  const outcomes = await Promise.allSettled(waits);
  assert.deepEqual(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as ApiError).status : 'served')), ['served', 503, 503]);
});

test('admission queue: a waiter that finds no room holds back only its own lane', async () => {
  const q = queue();
  const busy = room(); // lane "adapter": its endpoints stay saturated
  const free = room();
  const served: string[] = [];
  const blocked = q.enqueue(0, busy.admit('adapter 1'), undefined, 'adapter');
  void q.enqueue(0, busy.admit('adapter 2'), undefined, 'adapter').catch(() => {});
  const base = ['base 1', 'base 2'].map((name) => q.enqueue(0, free.admit(name), undefined, 'base').then((v) => void served.push(v)));
  free.set(1);
  q.wake(); // one slot: the head's lane has no room, so the first base waiter takes it
  await turn();
  await turn();
  assert.deepEqual(served, ['base 1']);
  assert.deepEqual(busy.asked, ['adapter 1'], 'the second adapter waiter is not asked after the first was refused');
  free.set(1);
  q.wake();
  await Promise.all(base);
  assert.deepEqual(served, ['base 1', 'base 2']);
  assert.equal(q.depth, 2, 'both adapter waiters still wait, in order');
  busy.set(1);
  q.wake();
  assert.equal(await blocked, 'adapter 1');
  q.drain(new ApiError(503, 'shutting down'));
});

test('admission queue: the poll offers room to the whole line in order', async () => {
  const q = queue({ pollMs: 5 });
  const r = room();
  const served = Promise.all(['a', 'b', 'c'].map((name) => q.enqueue(0, r.admit(name))));
  await sleep(20);
  assert.equal(q.depth, 3);
  r.set(3);
  assert.deepEqual(await served, ['a', 'b', 'c']);
});

test('admission queue: one admission per macrotask, so a sent request is counted before the next check', async () => {
  const q = queue({ pollMs: 5 });
  let inflight = 0;
  const admit = () => (inflight < 2 ? 'ok' : undefined);
  // The continuation stands for the gateway sending the request (and counting it in flight), a few
  // promise hops after the admission.
  const send = async (admitted: Promise<string>) => {
    await (await admitted, Promise.resolve());
    await Promise.resolve();
    inflight++;
  };
  const sent = [0, 1, 2].map(() => send(q.enqueue(0, admit)));
  await Promise.all(sent.slice(0, 2));
  await sleep(20);
  assert.equal(inflight, 2);
  assert.equal(q.depth, 1, 'the third waits: the endpoint holds two');
  inflight = 0;
  await sent[2];
});

test('admission queue: an admit that throws fails its waiter only; timeouts are 429, clients that leave 499; each exit reported once', async () => {
  const exits: Array<[QueueExit, number]> = [];
  const q = queue({ timeoutMs: 30, pollMs: 5, maxSize: 2, onExit: (exit, waited) => exits.push([exit, waited]) });
  const r = room(1);
  const broken = q.enqueue(0, () => {
    throw new ApiError(503, 'no healthy endpoint');
  });
  const next = q.enqueue(0, r.admit('next'));
  await assert.rejects(broken, (e: ApiError) => e.status === 503);
  assert.equal(await next, 'next');
  await assert.rejects(q.enqueue(0, r.admit('late')), (e: ApiError) => e.status === 429 && /stayed saturated for 30 ms/.test(e.message));
  const ac = new AbortController();
  const gone = q.enqueue(0, r.admit('gone'), ac.signal);
  ac.abort();
  await assert.rejects(gone, (e: ApiError) => e.status === 499);
  assert.equal(q.depth, 0);
  const held = [q.enqueue(0, r.admit('x')), q.enqueue(0, r.admit('y'))];
  await assert.rejects(q.enqueue(0, r.admit('z')), (e: ApiError) => e.status === 429);
  q.drain(new ApiError(503, 'shutting down'));
  await Promise.allSettled(held);
  assert.deepEqual(exits.map(([exit]) => exit), ['failed', 'admitted', 'timeout', 'client_closed', 'full', 'drained', 'drained']);
  const timedOut = exits[2]![1];
  assert.ok(timedOut >= 0.025 && timedOut < 1, `the timed-out request waited ${timedOut} s`);
});
