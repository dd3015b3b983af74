import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHardware } from '../../src/physics/hardware.ts';
import { getModel } from '../../src/physics/models.ts';
import { DoesNotFitError, kvCapacity, maxSequencesAtContext } from '../../src/physics/kv-capacity.ts';

const GiB = 1024 ** 3;

test('Llama-3.1-8B BF16 on one H100 fits about 420k tokens (hand-computed, vLLM defaults)', () => {
  const kv = kvCapacity({ hardware: getHardware('h100'), model: getModel('llama-3.1-8b'), tp: 1, weightDtype: 'bf16', kvDtype: 'bf16' });
  // 80 GiB x 0.9 - 8,030,261,248 x 2 B weights - 5.5 GiB activations - 0.15 GiB non-torch,
  // over 128 KiB x 16 tokens per block.
  const free = 80 * GiB * 0.9 - 8_030_261_248 * 2 - 5.5 * GiB - 0.15 * GiB;
  const blocks = Math.floor(free / (131072 * 16));
  assert.equal(kv.numGpuBlocks, blocks);
  assert.equal(kv.kvTokens, blocks * 16);
  assert.ok(kv.kvTokens > 410_000 && kv.kvTokens < 430_000, `${kv.kvTokens}`);
  assert.equal(kv.weightBytesPerGpu, 8_030_261_248 * 2);
});

test('Llama-3.1-70B FP8 on 2 x H100: weights and KV split over TP, 0.6 GiB non-torch per GPU', () => {
  const m = getModel('llama-3.1-70b');
  const kv = kvCapacity({ hardware: getHardware('h100'), model: m, tp: 2, weightDtype: 'fp8', kvDtype: 'fp8' });
  const weightsPerGpu = ((m.params.embedding + m.params.lmHead) * 2 + (m.params.total - m.params.embedding - m.params.lmHead)) / 2;
  const free = 80 * GiB * 0.9 - weightsPerGpu - 5.5 * GiB - 0.6 * GiB;
  assert.equal(kv.numGpuBlocks, Math.floor(free / ((163840 / 2) * 16)));
  assert.equal(kv.kvBytesPerTokenPerGpu, 81920);
});

test('KV heads fewer than TP are replicated, MLA latent is replicated', () => {
  const qwen = kvCapacity({ hardware: getHardware('h200'), model: getModel('qwen3-235b-a22b'), tp: 8, weightDtype: 'fp8', kvDtype: 'bf16' });
  assert.equal(qwen.kvBytesPerTokenPerGpu, 192512 / 4); // 4 KV heads over 8 GPUs: one head each
  const ds = kvCapacity({ hardware: getHardware('h200'), model: getModel('deepseek-v3'), tp: 8, weightDtype: 'fp8', kvDtype: 'bf16' });
  assert.equal(ds.kvBytesPerTokenPerGpu, 70272);
});

test('a model that does not fit says by how much', () => {
  assert.throws(
    () => kvCapacity({ hardware: getHardware('h100'), model: getModel('llama-3.1-70b'), tp: 1, weightDtype: 'bf16', kvDtype: 'bf16' }),
    (err: Error) => {
      assert.ok(err instanceof DoesNotFitError);
      assert.match(err.message, /llama-3.1-70b \(bf16\) does not fit on 1 x h100/);
      assert.match(err.message, /short by 65\.\d GiB per device/);
      return true;
    },
  );
});

test('sliding windows and SSM state are per-sequence costs', () => {
  const kv = kvCapacity({ hardware: getHardware('h100'), model: getModel('gpt-oss-120b'), tp: 1, weightDtype: 'fp4', kvDtype: 'bf16' });
  assert.equal(kv.fixedBytesPerSequencePerGpu, 4.5 * 1024 ** 2);
  const seqs = maxSequencesAtContext(kv, 1024);
  assert.equal(seqs, Math.floor(kv.kvBytesPerGpu / (1024 * 36864 + 4.5 * 1024 ** 2)));
  const mamba = kvCapacity({ hardware: getHardware('h100'), model: getModel('mamba2-2.7b'), tp: 1, weightDtype: 'bf16', kvDtype: 'bf16' });
  assert.equal(mamba.kvTokens, 0);
  assert.equal(maxSequencesAtContext(mamba, 10), maxSequencesAtContext(mamba, 1_000_000));
  assert.ok(mamba.numGpuBlocks > 100);
});

test('TensorRT-LLM rule: a fraction of the memory left after loading', () => {
  const args = { hardware: getHardware('h100'), model: getModel('llama-3.1-8b'), tp: 1, weightDtype: 'fp8' as const, kvDtype: 'fp8' as const };
  const trt = kvCapacity({ ...args, engine: 'trtllm' });
  const vllm = kvCapacity(args);
  assert.ok(trt.kvTokens > vllm.kvTokens);
  assert.throws(() => kvCapacity({ ...args, gpuMemoryUtilization: 1.5 }), /gpuMemoryUtilization/);
});

test('short sequences of a sliding-window model hold only their own tokens in the window layers', () => {
  const kv = kvCapacity({ hardware: getHardware('h100'), model: getModel('gpt-oss-120b'), tp: 1, weightDtype: 'fp4', kvDtype: 'bf16' });
  assert.equal(kv.sequenceBytesPerGpu(64), 64 * 36 * 2048); // 64 tokens in all 36 layers
  assert.equal(kv.sequenceBytesPerGpu(1000), 1008 * 36864 + 128 * 18 * 2048); // 63 blocks; windows capped at 128
  assert.equal(maxSequencesAtContext(kv, 64), Math.floor(kv.kvBytesPerGpu / (64 * 36 * 2048)));
});

test('the activation peak scales with the step token budget vLLM profiles at', () => {
  // A 24 GiB card like the RTX 4090, where the budget decides whether much KV fits at all.
  const card = { ...getHardware('h100'), id: 'card-24g', memoryBytes: 24 * 1024 ** 3 };
  const args = { hardware: card, model: getModel('llama-3.1-8b'), tp: 1, weightDtype: 'bf16' as const, kvDtype: 'bf16' as const };
  const atDefault = kvCapacity(args);
  const at2048 = kvCapacity({ ...args, maxNumBatchedTokens: 2048 });
  assert.equal(atDefault.activationBytesPerGpu, 5.5 * 1024 ** 3);
  assert.equal(at2048.activationBytesPerGpu, (5.5 * 1024 ** 3) / 4);
  // vLLM 0.19 logged 2,588 blocks for this model on an RTX 4090 at 2,048 tokens (held-out run).
  assert.ok(Math.abs(at2048.numGpuBlocks / 2588 - 1) < 0.02, `${at2048.numGpuBlocks} blocks`);
  assert.ok(atDefault.numGpuBlocks < at2048.numGpuBlocks / 4);
  assert.throws(() => kvCapacity({ ...args, maxNumBatchedTokens: 0 }), /maxNumBatchedTokens/);
});
