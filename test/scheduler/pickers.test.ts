// Pickers and the small scorers not covered through a policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxScorePicker } from '../../src/scheduler/plugins/pickers/max-score.ts';
import { powerOfTwoPicker } from '../../src/scheduler/plugins/pickers/power-of-two.ts';
import { weightedRandomPicker } from '../../src/scheduler/plugins/pickers/weighted-random.ts';
import { loadAwareScorer } from '../../src/scheduler/plugins/scorers/load-aware.ts';
import { seededRandom } from '../../src/util/seeded-random.ts';
import { endpoint, request } from './helpers.ts';

const eps = ['a', 'b', 'c', 'd'].map((id) => endpoint(id));
const ctx = (seed = 1) => ({ request: request('r'), view: { endpoints: eps }, now: 0, random: seededRandom(seed), memo: new Map() });
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

test('max-score orders by score; ties random or by list order', () => {
  assert.deepEqual(ids(maxScorePicker('first').pick(ctx(), eps, [0.1, 0.9, 0.5, 0.9])), ['b', 'd', 'c', 'a']);
  const firsts = new Set<string>();
  for (let s = 1; s < 30; s++) firsts.add(maxScorePicker('random').pick(ctx(s), eps, [1, 1, 0, 0])[0]!.id);
  assert.deepEqual([...firsts].sort(), ['a', 'b']);
});

test('weighted random: frequency follows score; returns every endpoint once', () => {
  const p = weightedRandomPicker();
  const c = ctx(7);
  const wins = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const order = p.pick(c, eps, [0.7, 0.2, 0.1, 0]);
    assert.equal(new Set(ids(order)).size, 4);
    wins.set(order[0]!.id, (wins.get(order[0]!.id) ?? 0) + 1);
  }
  assert.ok(Math.abs(wins.get('a')! / 4000 - 0.7) < 0.05);
  assert.ok((wins.get('d') ?? 0) < 10, 'zero score is a last resort');
});

test('power of two choices never picks the worst of four', () => {
  const p = powerOfTwoPicker();
  const c = ctx(3);
  for (let i = 0; i < 500; i++) {
    const order = p.pick(c, eps, [0.4, 0.3, 0.2, 0.1]);
    assert.notEqual(order[0]!.id, 'd');
    assert.equal(new Set(ids(order)).size, 4);
  }
  assert.deepEqual(ids(p.pick(c, [eps[0]!], [1])), ['a']);
});

test('load-aware scorer: empty queue 0.5, falls to 0 at 128 waiting', () => {
  const s = loadAwareScorer();
  const view = [endpoint('a', { metrics: { waiting: 0, scrapedAt: 0 } }), endpoint('b', { metrics: { waiting: 64, scrapedAt: 0 } }), endpoint('c', { metrics: { waiting: 500, scrapedAt: 0 } })];
  assert.deepEqual(s.score(ctx(), view), [0.5, 0.25, 0]);
});
