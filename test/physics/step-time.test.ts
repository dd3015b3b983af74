import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHardware } from '../../src/physics/hardware.ts';
import { getModel } from '../../src/physics/models.ts';
import { attendedTokens, createStepTimeModel, FITTED } from '../../src/physics/step-time.ts';
import type { Dtype } from '../../src/physics/types.ts';

const h100 = getHardware('h100');
const model = (id: string, tp = 1, dtype: Dtype = 'bf16') =>
  createStepTimeModel({ hardware: h100, model: getModel(id), tp, weightDtype: dtype, kvDtype: 'bf16', engine: 'vllm' });
const decode = (n: number, ctx: number) => ({ prefill: [], decode: Array.from({ length: n }, () => ({ contextLength: ctx })) });

test('attendedTokens matches a brute-force causal sum, with and without a window', () => {
  for (const [from, count, cap] of [[0, 10, Infinity], [5, 7, Infinity], [0, 300, 128], [100, 50, 128], [200, 10, 128], [127, 3, 128]] as const) {
    let brute = 0;
    for (let p = from + 1; p <= from + count; p++) brute += Math.min(p, cap);
    assert.equal(attendedTokens(from, count, cap), brute, `${from},${count},${cap}`);
  }
});

test('decode at batch 1 is bound by reading the weights once', () => {
  const st = model('llama-3.1-8b');
  const b = st.breakdown(decode(1, 100));
  assert.equal(b.linearBound, 'memory');
  // Every weight but the input embedding (a lookup of one row) streams through once.
  const weightsTime = ((8_030_261_248 - 128256 * 4096) * 2) / (3.35e12 * FITTED.vllm.bandwidthEfficiency);
  assert.ok(Math.abs(b.linearSec - weightsTime) / weightsTime < 0.01, `${b.linearSec} vs ${weightsTime}`);
  assert.ok(b.totalSec > weightsTime && b.totalSec < weightsTime * 1.5);
});

test('a large prefill is compute bound and grows with prompt length faster than linearly', () => {
  const st = model('llama-3.1-8b');
  const b = st.breakdown({ prefill: [{ tokens: 8192, cachedContext: 0 }], decode: [] });
  assert.equal(b.linearBound, 'compute');
  const t4k = st.stepSeconds({ prefill: [{ tokens: 4096, cachedContext: 0 }], decode: [] });
  const t8k = b.totalSec;
  assert.ok(t8k > 1.9 * t4k);
  // Cached context makes the same chunk cost more attention, never less.
  assert.ok(st.stepSeconds({ prefill: [{ tokens: 4096, cachedContext: 4096 }], decode: [] }) > t4k);
});

test('step time grows with batch and with context', () => {
  const st = model('llama-3.1-8b');
  assert.ok(st.stepSeconds(decode(64, 1000)) > st.stepSeconds(decode(8, 1000)));
  assert.ok(st.stepSeconds(decode(64, 8000)) > st.stepSeconds(decode(64, 1000)));
  assert.equal(st.stepSeconds({ prefill: [], decode: [] }), 0);
});

test('weighted batches price the same as the spelled-out batch', () => {
  const st = model('llama-3.1-8b');
  const plain = st.stepSeconds({ prefill: [{ tokens: 500, cachedContext: 100 }, { tokens: 500, cachedContext: 100 }], decode: [...decode(3, 700).decode] });
  const weighted = st.breakdownWeighted({ prefill: [{ tokens: 500, cachedContext: 100, count: 2 }], decode: [{ contextLength: 700, count: 3 }] }).totalSec;
  assert.ok(Math.abs(plain - weighted) < 1e-12);
});

test('tensor parallelism splits the memory traffic and adds all-reduces', () => {
  const one = model('llama-3.1-8b', 1).breakdown(decode(16, 1000));
  const two = model('llama-3.1-8b', 2).breakdown(decode(16, 1000));
  assert.equal(one.allReduceSec, 0);
  assert.ok(two.allReduceSec > 0);
  assert.ok(Math.abs(two.linearSec - one.linearSec / 2) / one.linearSec < 0.01);
  assert.ok(two.totalSec < one.totalSec);
});

test('MoE: batch 1 reads only the routed experts, a large batch reads nearly all', () => {
  const st = model('qwen3-30b-a3b');
  const m = getModel('qwen3-30b-a3b');
  const small = st.breakdown(decode(1, 100));
  const big = st.breakdown(decode(4096, 100));
  const expertBytesAll = m.moe!.moeLayers * m.moe!.experts * m.params.perExpert * 2;
  assert.ok(small.bytes < expertBytesAll * 0.15, 'batch 1 touches top-k of 128 experts plus the dense weights');
  assert.ok(big.bytes > expertBytesAll * 0.99);
  // Compute follows active parameters, not total.
  const dense = model('qwen3-32b').breakdown(decode(1, 100));
  assert.ok(small.totalSec < dense.totalSec / 3);
});

test('sliding layers stop growing at the window; state-space layers never grow', () => {
  const oss = createStepTimeModel({ hardware: h100, model: getModel('gpt-oss-120b'), tp: 1, weightDtype: 'fp4', kvDtype: 'bf16' });
  const a = oss.breakdown(decode(64, 10_000));
  const b = oss.breakdown(decode(64, 20_000));
  const perToken = 18 * 2048 * 64; // only the 18 full layers grow
  assert.ok(Math.abs(b.bytes - a.bytes - 10_000 * perToken) / (10_000 * perToken) < 1e-9);
  const mamba = model('mamba2-2.7b');
  assert.equal(mamba.stepSeconds(decode(32, 100)), mamba.stepSeconds(decode(32, 100_000)));
});

test('gpt-oss at FP4 keeps its dense layers in BF16: bytes read, and the matmul rate where FP4 units exist', () => {
  const oss = getModel('gpt-oss-120b');
  const make = (hardware: ReturnType<typeof getHardware>, lowBitExpertsOnly: boolean) =>
    createStepTimeModel({ hardware, model: { ...oss, lowBitExpertsOnly }, tp: 1, weightDtype: 'fp4', kvDtype: 'bf16' });
  // One decode touches the same experts either way; only the dense layers' bytes differ.
  const extra = make(h100, true).breakdown(decode(1, 100)).bytes - make(h100, false).breakdown(decode(1, 100)).bytes;
  assert.ok(Math.abs(extra - oss.params.layerDense * (2 - (0.5 + 1 / 32))) < 1, `${extra}`);
  // A big prefill is compute-bound. B200 has FP4 units: the dense GEMMs run at its BF16 rate instead.
  // H100 has none: everything FP4 runs at BF16 anyway, so the flag changes no compute time there.
  const prefill = { prefill: [{ tokens: 8192, cachedContext: 0 }], decode: [] };
  const b200 = getHardware('b200');
  const ratio = make(b200, true).breakdown(prefill).linearSec / make(b200, false).breakdown(prefill).linearSec;
  assert.ok(Math.abs(ratio - b200.flops.fp4! / b200.flops.bf16) < 1e-9, `${ratio}`);
  assert.equal(make(h100, true).breakdown(prefill).linearSec, make(h100, false).breakdown(prefill).linearSec);
  assert.equal(make(b200, true).breakdown(prefill).expertsSec, make(b200, false).breakdown(prefill).expertsSec);
});

test('MLA decode reads the compressed latent', () => {
  const st = createStepTimeModel({ hardware: getHardware('h200'), model: getModel('deepseek-v3'), tp: 8, weightDtype: 'fp8', kvDtype: 'bf16' });
  const a = st.breakdown(decode(1, 1000));
  const b = st.breakdown(decode(1, 2000));
  // MLA's latent is replicated on every TP rank: each GPU reads 1000 more tokens x 70,272 bytes.
  assert.ok(Math.abs(b.bytes - a.bytes - 1000 * 70272) < 1);
});

test('the optional GEMM efficiency ramp slows compute-bound linear work by (t + t_half) / t and nothing else', () => {
  const hw = getHardware('h200');
  const make = (gemmHalfTokens?: number) =>
    createStepTimeModel({ hardware: hw, model: getModel('llama-3.1-8b'), tp: 1, weightDtype: 'fp8', kvDtype: 'bf16', engine: 'vllm', coefficients: { gemmHalfTokens } });
  const flat = make();
  const zero = make(0);
  const ramp = make(1024);
  const prefill = { prefill: [{ tokens: 2048, cachedContext: 0 }], decode: [] };
  assert.equal(zero.stepSeconds(prefill), flat.stepSeconds(prefill));
  const a = flat.breakdown(prefill);
  const b = ramp.breakdown(prefill);
  assert.equal(a.linearBound, 'compute');
  assert.ok(Math.abs(b.linearSec / a.linearSec - (2048 + 1024) / 2048) < 1e-9);
  assert.equal(b.attentionSec, a.attentionSec);
  assert.equal(b.overheadSec, a.overheadSec);
  // With a ramp of the size the fit picks (about 60 tokens), a small decode batch stays bound by
  // reading the weights, so its time does not change; a large t_half makes it compute bound.
  const small = decode(4, 1000);
  assert.equal(make(64).breakdown(small).linearBound, 'memory');
  assert.equal(make(64).stepSeconds(small), flat.stepSeconds(small));
  assert.equal(ramp.breakdown(small).linearBound, 'compute');
});
