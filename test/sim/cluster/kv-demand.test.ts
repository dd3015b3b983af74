// The fluid KV demand of a trace: prompts held from arrival, one token per decode step after.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvDemand } from '../../../src/sim/cluster/kv-demand.ts';

const near = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} not within ${tol} of ${b}`);

test('one request peaks at prompt + output just before its last token, and is gone after', () => {
  // 100 prompt tokens, 100 outputs at 10 ms each: 200 tokens at t = 1 s, against 100 of capacity.
  const d = kvDemand([{ arrival: 0, promptTokens: 100, outputTokens: 100 }], { rateScale: 1, decodeSecondsPerToken: 0.01, capacityTokens: 100, sampleSeconds: 0.001 });
  near(d.peakRatio, 2, 0.02);
  near(d.peakAtSeconds, 1, 0.002);
  // Over capacity from the first decode step on: the whole second, less a sample.
  near(d.secondsOverCapacity, 1, 0.002);
});

test('overlapping requests add up; the rate factor compresses arrivals, so demand overlaps more', () => {
  // Two requests 1 s apart, each living 0.5 s: at x1 they never overlap, at x4 (0.25 s apart) they do.
  const reqs = [
    { arrival: 0, promptTokens: 50, outputTokens: 50 },
    { arrival: 1, promptTokens: 50, outputTokens: 50 },
  ];
  const o = { decodeSecondsPerToken: 0.01, capacityTokens: 100, sampleSeconds: 0.001 };
  const apart = kvDemand(reqs, { ...o, rateScale: 1 });
  near(apart.peakRatio, 1, 0.02);
  near(apart.secondsOverCapacity, 0, 0.01);
  const together = kvDemand(reqs, { ...o, rateScale: 4 });
  // At t = 0.5 s the first holds 100 tokens, the second (from 0.25 s) 50 + 25.
  near(together.peakRatio, 1.75, 0.02);
  near(together.peakAtSeconds, 0.5, 0.002);
  // Both live from 0.25 to 0.5 s, holding 75 + 200 t tokens: above 100 the whole time.
  near(together.secondsOverCapacity, 0.25, 0.002);
});

test('no requests: no demand; nonsense options are refused', () => {
  assert.deepEqual(kvDemand([], { rateScale: 1, decodeSecondsPerToken: 0.01, capacityTokens: 1 }), { peakRatio: 0, peakAtSeconds: 0, secondsOverCapacity: 0 });
  assert.throws(() => kvDemand([], { rateScale: 0, decodeSecondsPerToken: 0.01, capacityTokens: 1 }), RangeError);
  assert.throws(() => kvDemand([], { rateScale: 1, decodeSecondsPerToken: 0.01, capacityTokens: Number.NaN }), RangeError);
});
