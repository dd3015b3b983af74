import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDeployment } from '../../src/physics/deployment.ts';
import { disaggregatedAtRate } from '../../src/physics/planner/disaggregated.ts';
import { roofline } from '../../src/physics/planner/roofline.ts';

const prices = { gpuHourUsd: 2, energyUsdPerKwh: 0.1, pue: 1.2 };
const dep = resolveDeployment({ model: 'llama-3.1-70b', gpu: 'h100', tp: 4, dtype: 'fp8' });
const w = { isl: 2000, osl: 500 };

test('disaggregated: TTFT = prefill + KV transfer + first decode step; TPOT is the Little-law decode step', () => {
  const r = disaggregatedAtRate(dep, w, 0.5, 1, 1, prices);
  assert.equal(r.saturated, null);
  // KV of 2000 tokens at 320 KiB/token over 4 NVLink ports of 450 GB/s.
  assert.ok(Math.abs(r.transferSec - (2000 * 327680) / (4 * 450e9)) < 1e-12);
  const prefill = dep.stepTime.stepSeconds({ prefill: [{ tokens: 2000, cachedContext: 0 }], decode: [] });
  assert.ok(r.ttftSec > prefill + r.transferSec + r.tpotSec - 1e-9);
  // Little's law on the decode pool: batch = rate x (OSL - 1) x TPOT.
  assert.ok(Math.abs(r.decodeBatch - 0.5 * 499 * r.tpotSec) / r.decodeBatch < 0.01);
  assert.equal(r.outputTokS, 0.5 * 500);
  // 68 GPUs do not fit one 8-GPU NVLink domain: the transfer goes over 50 GB/s NICs.
  const far = disaggregatedAtRate(dep, w, 0.5, 8, 9, prices);
  assert.ok(far.transferSec > 5 * r.transferSec);
});

test('disaggregated: the pool that runs out first is named', () => {
  const prefillBound = disaggregatedAtRate(resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' }), { isl: 8000, osl: 10 }, 50, 1, 4, prices);
  assert.equal(prefillBound.saturated, 'prefill');
  assert.equal(prefillBound.ttftSec, Infinity);
  const decodeBound = disaggregatedAtRate(resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' }), { isl: 100, osl: 4000 }, 50, 4, 1, prices);
  assert.equal(decodeBound.saturated, 'decode');
});

test('roofline: a large MoE decode batch is still bound by reading expert weights', () => {
  const ds = resolveDeployment({ model: 'deepseek-v3', gpu: 'h200', tp: 8, dtype: 'fp8' });
  const r = roofline(ds, 2000, 200, 256);
  assert.equal(r.decode.bound, 'memory bandwidth');
  assert.match(r.decode.dominant, /MoE experts \(weight reads\)/);
});

test('CLI: --hardware-file adds an accelerator the plan can use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hwcli-'));
  try {
    const file = join(dir, 'hw.yaml');
    writeFileSync(file, '- id: lab-gpu\n  memoryGiB: 96\n  bandwidthTBps: 4\n  bf16Tflops: 900\n  fp8Tflops: 1800\n  hourlyUsd: 1.5\n');
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const r = spawnSync(process.execPath, [main, 'plan', '--hardware-file', file, '--model', 'llama-3.1-8b', '--gpu', 'lab-gpu', '--isl', '500', '--osl', '100', '--json'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.gpu, 'lab-gpu');
    assert.equal(j.gpu_hour_usd, 1.5);
    const bad = spawnSync(process.execPath, [main, 'plan', '--hardware-file', join(dir, 'nope.yaml'), '--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '5', '--osl', '5'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /cannot read hardware file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
