// KV-cache capacity the way vLLM computes it at startup (reference/calibration.md, end of E):
//   per GPU: memory x gpu_memory_utilization - weights/TP - activation peak - non-torch memory,
//   divided into blocks of `blockSize` tokens of this GPU's share of the KV.
// TensorRT-LLM instead gives the KV cache a fraction (default 0.9, trtllm-bench 0.95) of the memory
// left free after loading; `engine: 'trtllm'` applies that rule.
import type { Hardware } from './hardware.ts';
import { kvBytesForContext, kvBytesPerSequenceFixed, kvBytesPerToken, weightBytes, type ModelSpec } from './models.ts';
import { kvShardFraction, type EngineKind } from './step-time.ts';
import type { Dtype } from './types.ts';
import { PhysicsInputError } from './errors.ts';

const GiB = 1024 ** 3;

export interface KvCapacityOptions {
  hardware: Hardware;
  model: ModelSpec;
  tp: number;
  weightDtype: Dtype;
  kvDtype: Dtype;
  gpuMemoryUtilization?: number;
  blockSize?: number;
  engine?: EngineKind;
  /** TensorRT-LLM's kv_cache_free_gpu_memory_fraction (engine 'trtllm' only). */
  kvFreeMemoryFraction?: number;
  /** The engine's step token budget, which its startup profiling runs at (default 8192). */
  maxNumBatchedTokens?: number;
}

export interface KvCapacity {
  numGpuBlocks: number;
  /** Tokens of growing (full/sparse attention) context the cache holds: numGpuBlocks x blockSize. */
  kvTokens: number;
  blockSize: number;
  weightBytesPerGpu: number;
  activationBytesPerGpu: number;
  nonTorchBytesPerGpu: number;
  /** Memory the engine may use per GPU (memory x utilisation for vLLM). */
  budgetBytesPerGpu: number;
  /** What is left for KV per GPU. */
  kvBytesPerGpu: number;
  kvBytesPerTokenPerGpu: number;
  /** Upper bound of the sliding-window and state-space bytes a sequence holds whatever its length, per GPU. */
  fixedBytesPerSequencePerGpu: number;
  /** Bytes one sequence of `contextTokens` holds on each GPU (whole blocks; windows hold at most their size). */
  sequenceBytesPerGpu(contextTokens: number): number;
}

export class DoesNotFitError extends PhysicsInputError {
  readonly shortBytes: number;
  constructor(message: string, shortBytes: number) {
    super(message);
    this.shortBytes = shortBytes;
  }
}

/** The step token budget the activation peak below was taken at (vLLM's default). */
const PROFILED_TOKENS = 8192;

/**
 * vLLM's profiled activation peak: about 5.5 GiB dense, 8 GiB MoE at the default 8192-token
 * budget. The profile is one forward pass over `maxNumBatchedTokens` tokens, whose intermediate
 * tensors grow with the tokens, so the peak scales with the budget. (Checked on a held-out
 * measurement: Llama-3.1-8B BF16 on a 24 GiB RTX 4090 at 2,048 tokens, where vLLM 0.19 logged
 * 2,588 KV blocks; this gives 2,620. A fixed 5.5 GiB gives 508.)
 */
export function activationBytes(model: ModelSpec, maxNumBatchedTokens: number): number {
  return (model.moe ? 8 : 5.5) * GiB * (maxNumBatchedTokens / PROFILED_TOKENS);
}

/** Memory outside PyTorch's allocator: CUDA context, NCCL buffers at TP > 1. */
export function nonTorchBytes(tp: number): number {
  return (tp > 1 ? 0.6 : 0.15) * GiB;
}

export function kvCapacity(opts: KvCapacityOptions): KvCapacity {
  const { hardware: hw, model, tp, weightDtype, kvDtype } = opts;
  const blockSize = opts.blockSize ?? 16;
  const util = opts.gpuMemoryUtilization ?? 0.9;
  if (!(util > 0 && util <= 1)) throw new PhysicsInputError(`gpuMemoryUtilization must be in (0, 1], got ${util}`);
  if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new PhysicsInputError(`blockSize must be a positive integer, got ${blockSize}`);

  const weightBytesPerGpu = weightBytes(model, weightDtype) / tp;
  // SRAM parts hold weights and KV on chip; no framework activations or CUDA context to reserve.
  const sram = hw.memoryKind === 'sram';
  const tokens = opts.maxNumBatchedTokens ?? PROFILED_TOKENS;
  if (!(Number.isInteger(tokens) && tokens > 0)) throw new PhysicsInputError(`maxNumBatchedTokens must be a positive integer, got ${tokens}`);
  const activationBytesPerGpu = sram ? 0 : activationBytes(model, tokens);
  const nonTorchBytesPerGpu = sram ? 0 : nonTorchBytes(tp);
  let budgetBytesPerGpu: number;
  let kvBytesPerGpu: number;
  if (opts.engine === 'trtllm' && !sram) {
    budgetBytesPerGpu = hw.memoryBytes;
    const free = hw.memoryBytes - weightBytesPerGpu - activationBytesPerGpu - nonTorchBytesPerGpu;
    kvBytesPerGpu = free * (opts.kvFreeMemoryFraction ?? 0.95);
  } else {
    budgetBytesPerGpu = hw.memoryBytes * (sram ? 1 : util);
    kvBytesPerGpu = budgetBytesPerGpu - weightBytesPerGpu - activationBytesPerGpu - nonTorchBytesPerGpu;
  }

  const shard = kvShardFraction(model, tp, hw);
  const kvBytesPerTokenPerGpu = kvBytesPerToken(model, kvDtype) * shard;
  const fixedBytesPerSequencePerGpu = kvBytesPerSequenceFixed(model, kvDtype) * shard;

  if (kvBytesPerGpu <= 0) {
    const need = weightBytesPerGpu + activationBytesPerGpu + nonTorchBytesPerGpu;
    throw new DoesNotFitError(
      `${model.id} (${weightDtype}) does not fit on ${tp} x ${hw.id}: needs ${(need / GiB).toFixed(1)} GiB per device ` +
        `(weights ${(weightBytesPerGpu / GiB).toFixed(1)} GiB + activations and runtime ${((activationBytesPerGpu + nonTorchBytesPerGpu) / GiB).toFixed(1)} GiB) ` +
        `but only ${(budgetBytesPerGpu / GiB).toFixed(1)} GiB is usable: short by ${(-kvBytesPerGpu / GiB).toFixed(1)} GiB per device before any KV cache`,
      -kvBytesPerGpu,
    );
  }

  // Pure state-space models have no growing KV: count one block per sequence of fixed state instead.
  const perBlock = kvBytesPerTokenPerGpu > 0 ? kvBytesPerTokenPerGpu * blockSize : fixedBytesPerSequencePerGpu;
  const numGpuBlocks = Math.floor(kvBytesPerGpu / perBlock);
  return {
    numGpuBlocks,
    kvTokens: kvBytesPerTokenPerGpu > 0 ? numGpuBlocks * blockSize : 0,
    blockSize,
    weightBytesPerGpu,
    activationBytesPerGpu,
    nonTorchBytesPerGpu,
    budgetBytesPerGpu,
    kvBytesPerGpu,
    kvBytesPerTokenPerGpu,
    fixedBytesPerSequencePerGpu,
    sequenceBytesPerGpu: (contextTokens) => kvBytesForContext(model, kvDtype, Math.ceil(contextTokens / blockSize) * blockSize) * shard,
  };
}

/** How many sequences of `contextTokens` fit in the cache at once (blocks rounded up per sequence). */
export function maxSequencesAtContext(kv: KvCapacity, contextTokens: number): number {
  if (kv.kvBytesPerTokenPerGpu === 0) return kv.numGpuBlocks; // one state slot per sequence
  return Math.floor(kv.kvBytesPerGpu / kv.sequenceBytesPerGpu(contextTokens));
}
