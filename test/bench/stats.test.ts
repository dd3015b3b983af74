// The paired bootstrap of a percentile lead: exact where the pairs leave no doubt, wide where a
// small sample cannot tell, and blind to requests one side does not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, percentileLead, percentileUnsorted, pooledPercentileLead } from '../../src/bench/stats.ts';
import { seededRandom } from '../../src/util/seeded-random.ts';

const sample = (n: number, seed: number) => {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, () => -Math.log(1 - random())); // exponential, mean 1
};

test('percentileLead: every request 20 % faster is a 20 % lead with no doubt', () => {
  const theirs = sample(500, 1);
  const ours = theirs.map((x) => 0.8 * x);
  const r = percentileLead(ours, theirs);
  assert.ok(Math.abs(r.lead - 0.2) < 1e-12 && Math.abs(r.lo - 0.2) < 1e-12 && Math.abs(r.hi - 0.2) < 1e-12, JSON.stringify(r));
  assert.equal(r.pairs, 500);
});

test('percentileLead: the interval holds the point estimate and narrows with more requests', () => {
  const width = (n: number) => {
    const ours = sample(n, 2);
    const theirs = sample(n, 3).map((x) => 1.1 * x);
    const r = percentileLead(ours, theirs, { seed: 7, resamples: 300 });
    assert.ok(r.lo <= r.lead && r.lead <= r.hi, JSON.stringify(r));
    const direct = 1 - percentile(Float64Array.from(ours).sort(), 90) / percentile(Float64Array.from(theirs).sort(), 90);
    assert.ok(Math.abs(r.lead - direct) < 1e-12);
    return r.hi - r.lo;
  };
  const small = width(300);
  const large = width(12_000);
  assert.ok(large < small / 3, `300 requests: ${small}, 12,000: ${large}`);
  assert.ok(small > 0.1, `300 unrelated requests cannot pin a p90 within 10 points: ${small}`);
});

test('percentileLead: unpaired requests (shed on one side) are left out; lengths must match', () => {
  const ours = Float64Array.from([1, 2, Number.NaN, 4]);
  const theirs = Float64Array.from([2, 4, 6, Number.NaN]);
  const r = percentileLead(ours, theirs, { resamples: 10 });
  assert.equal(r.pairs, 2);
  assert.ok(Math.abs(r.lead - 0.5) < 1e-12);
  assert.throws(() => percentileLead([1], [1, 2]), /differ in length/);
});

test('pooledPercentileLead: the percentile of every run pooled; the interval resamples whole runs', () => {
  const theirs = [sample(300, 4), sample(300, 5), sample(300, 6)];
  const same = pooledPercentileLead(theirs.map((t) => t.map((x) => 0.8 * x)), theirs);
  assert.ok(Math.abs(same.lead - 0.2) < 1e-12 && Math.abs(same.lo - 0.2) < 1e-12 && Math.abs(same.hi - 0.2) < 1e-12, JSON.stringify(same));
  assert.equal(same.pairs, 900);
  // Runs that disagree: 30 % ahead in some, 10 % behind in others. Requests of one run move
  // together, so resampling runs must say less than resampling requests would.
  const runs = Array.from({ length: 8 }, (_, r) => sample(300, 10 + r));
  const ours = runs.map((t, r) => t.map((x) => (r % 2 === 0 ? 0.7 : 1.1) * x));
  const pooled = pooledPercentileLead(ours, runs, { resamples: 400 });
  const flat = (xs: Float64Array[]) => Float64Array.from(xs.flatMap((x) => [...x]));
  const perRequest = percentileLead(flat(ours), flat(runs), { resamples: 400 });
  assert.ok(Math.abs(pooled.lead - perRequest.lead) < 1e-12, 'the same point estimate');
  assert.ok(pooled.lo <= pooled.lead && pooled.lead <= pooled.hi);
  assert.ok(pooled.hi - pooled.lo > 2 * (perRequest.hi - perRequest.lo), `runs ${pooled.lo}..${pooled.hi}, requests ${perRequest.lo}..${perRequest.hi}`);
  assert.throws(() => pooledPercentileLead([runs[0]!], runs), /differ in number/);
});

test('percentileUnsorted: by selection, the same value as the percentile of the sorted values', () => {
  const random = seededRandom(9);
  for (const n of [1, 2, 3, 10, 101, 1000]) {
    for (const ties of [false, true]) {
      const values = Float64Array.from({ length: n }, () => (ties ? Math.floor(random() * 5) : random()));
      const sorted = Float64Array.from(values).sort();
      for (const p of [0, 1, 50, 90, 99, 100]) assert.equal(percentileUnsorted(Float64Array.from(values), p), percentile(sorted, p), `n ${n}, ties ${ties}, p ${p}`);
    }
  }
  assert.ok(Number.isNaN(percentileUnsorted(new Float64Array(0), 50)));
  assert.throws(() => percentileUnsorted(Float64Array.from([1]), 101), RangeError);
});
