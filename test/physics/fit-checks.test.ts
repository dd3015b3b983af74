import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALIBRATION } from '../../src/physics/calibration-data.ts';
import { FIT_VARIANTS, impliedComputeUtilisation, leaveOneRowOut, leaveOneTableOut, tableOf } from '../../src/physics/fit-checks.ts';
import { FIT_PARAMS } from '../../src/physics/fit.ts';

const row = (table: string, isl: number, osl: number, model = 'llama-3.1-8b') =>
  CALIBRATION.find((r) => tableOf(r) === table && r.isl === isl && r.osl === osl && r.model === model)!;

test('demanded FLOP/s: TRT-LLM rows stay under half the dense peak; table D\'s short-output rows need far more', () => {
  for (const r of CALIBRATION.filter((x) => tableOf(x) !== 'D')) assert.ok(impliedComputeUtilisation(r) < 0.5, `${r.table} ${r.isl}/${r.osl}`);
  // By hand: 3450 tok/s / 128 = 26.95 req/s x (2048-token prefill + 127 decodes) ~ 15.4 TFLOP per request... ~43 % of 1979 TFLOP/s.
  const a = impliedComputeUtilisation(row('A', 2048, 128));
  assert.ok(a > 0.38 && a < 0.48, `${a}`);
  // Little's law: 64 / (0.1217 + 99 x 0.00974) = 59 req/s x 2000 prompt tokens.
  assert.ok(impliedComputeUtilisation(row('D', 2000, 100)) > 0.85);
  assert.ok(impliedComputeUtilisation(row('D', 8000, 2000)) < 0.2);
});

test('held-out scores never fit on what they score, and cover every left-out row', () => {
  const rows = [...CALIBRATION.filter((r) => tableOf(r) === 'A' && r.model === 'llama-3.1-8b').slice(0, 4), ...CALIBRATION.filter((r) => tableOf(r) === 'D').slice(0, 3)];
  const loto = leaveOneTableOut(rows, { iterations: 5 });
  assert.deepEqual(loto.map((s) => `${s.heldOut} ${s.metric} ${s.rows}`).sort(), ['A throughputTokS 4', 'D tpotMs 3', 'D ttftMs 3']);
  const loro = leaveOneRowOut(rows, 'D', { iterations: 5 });
  assert.equal(loro.perRow.length, 3);
  assert.deepEqual(loro.perRow.map((p) => p.row), rows.slice(4));
  for (const s of loro.scores) assert.equal(s.rows, 3);
  for (const s of [...loto, ...loro.scores]) assert.ok(Number.isFinite(s.medianAbsError));
});

test('the variants tried against table D extend the shipped parameters', () => {
  assert.equal(FIT_VARIANTS[0]!.params, FIT_PARAMS);
  for (const v of FIT_VARIANTS.slice(1)) {
    assert.ok(v.params.length > FIT_PARAMS.length);
    assert.deepEqual(v.params.slice(0, FIT_PARAMS.length), FIT_PARAMS);
  }
});
