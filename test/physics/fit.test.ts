import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALIBRATION } from '../../src/physics/calibration-data.ts';
import { evaluateCalibration, fitCoefficients, FIT_PARAMS, FIT_ROWS, median, objective, summarise } from '../../src/physics/fit.ts';
import { FITTED } from '../../src/physics/step-time.ts';

test('the shipped coefficients stay within 10 % median error on the TRT-LLM/NIM calibration tables', () => {
  const summary = summarise(evaluateCalibration(FITTED));
  const trt = summary.filter((s) => !s.table.startsWith('D'));
  assert.equal(trt.length, 4);
  for (const s of trt) assert.ok(s.medianAbsError < 0.1, `${s.table} ${s.metric}: ${s.medianAbsError}`);
  // Table D is reported, not fitted (docs/physics.md): its TTFT is still predicted within 30 %.
  const dTtft = summary.find((s) => s.table.startsWith('D') && s.metric === 'ttftMs')!;
  assert.ok(dTtft.medianAbsError < 0.3);
});

test('the fitted values are physically plausible', () => {
  for (const c of Object.values(FITTED)) {
    assert.ok(c.computeEfficiency > 0.3 && c.computeEfficiency < 0.8);
    assert.ok(c.bandwidthEfficiency > 0.6 && c.bandwidthEfficiency <= 0.95);
    assert.ok(c.stepOverheadSec < 2e-3 && c.layerOverheadSec < 100e-6);
  }
});

test('a short fit from the priors improves on them and is deterministic', () => {
  const rows = FIT_ROWS.filter((_, i) => i % 3 === 0);
  const a = fitCoefficients({ iterations: 40, rows });
  const b = fitCoefficients({ iterations: 40, rows });
  assert.deepEqual(a.coefficients, b.coefficients);
  const priors = structuredClone(FITTED);
  for (const p of FIT_PARAMS) {
    if (p.engine !== 'vllm') priors.trtllm[p.key] = p.prior;
    if (p.engine !== 'trtllm') priors.vllm[p.key] = p.prior;
  }
  assert.ok(objective(a.coefficients, rows) < objective(priors, rows));
});

test('calibration data carries every table of reference/calibration.md', () => {
  assert.equal(CALIBRATION.filter((r) => r.table.startsWith('A')).length, 21);
  assert.equal(CALIBRATION.filter((r) => r.table.startsWith('B')).length, 8);
  assert.equal(CALIBRATION.filter((r) => r.table.startsWith('D')).length, 8);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});
