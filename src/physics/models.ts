// Model catalog: built-in short ids (../shared/reference/models.md plus a few) or any Hugging Face
// config.json given by path, and the KV and weight sizes every other module asks for. Parameter
// counts are computed from the architecture (model-arch.ts), not copied, so a config.json gets the
// same treatment as a catalog entry.
import { bytesPerElement } from './dtype.ts';
import { PhysicsInputError } from './errors.ts';
import { loadHfConfigFile } from './hf-config.ts';
import { alternating, build, dense, denseWeightDtype, full, mamba2, moe, type Arch, type ModelSpec } from './model-arch.ts';
import type { Dtype } from './types.ts';

export type { LayerKind, MlaDims, ModelSpec, MoeDims, ParamCounts, SsmDims } from './model-arch.ts';
export { modelFromHfConfig, loadHfConfigFile } from './hf-config.ts';
export { ssmStateElements } from './model-arch.ts';

const deepseekV3Arch: Arch = {
  id: 'deepseek-v3', name: 'DeepSeek-V3', layers: 61, hidden: 7168, heads: 128, kvHeads: 1, headDim: 128, ffn: 18432,
  vocab: 129280, tiedEmbeddings: false, contextLength: 163840, moe: moe(256, 8, 2048, 58, 1, 2048),
  mla: { kvLoraRank: 512, qLoraRank: 1536, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
  layerKinds: full(61), defaultDtype: 'fp8',
};

function gptOss(id: string, layers: number, experts: number): ModelSpec {
  return build({
    id, name: id, layers, hidden: 2880, heads: 64, kvHeads: 8, headDim: 64, ffn: 2880, vocab: 201088, tiedEmbeddings: false,
    contextLength: 131072, moe: moe(experts, 4, 2880, layers), layerKinds: alternating(layers, 128), defaultDtype: 'fp4', lowBitExpertsOnly: true,
  });
}

// Llama 4: MoE with one routed + one shared expert; 3 of every 4 layers use chunked attention over
// 8192-token chunks (modelled as a window: KV bounded by the chunk), every 4th layer is global.
function llama4(id: string, name: string, experts: number, moeEvery: number, contextLength: number): ModelSpec {
  const layers = 48;
  return build({
    id, name, layers, hidden: 5120, heads: 40, kvHeads: 8, headDim: 128, ffn: 16384, vocab: 202048, tiedEmbeddings: false, contextLength,
    moe: moe(experts, 1, 8192, layers / moeEvery, 1, 8192),
    layerKinds: Array.from({ length: layers }, (_, i) => ((i + 1) % 4 === 0 ? { kind: 'full' } : { kind: 'sliding', window: 8192 })),
    defaultDtype: 'bf16',
  });
}

const builtin: ModelSpec[] = [
  dense('llama-3.1-8b', 'Llama-3.1-8B', 32, 4096, 32, 8, 14336, 128256, 131072),
  dense('llama-3.1-70b', 'Llama-3.1-70B', 80, 8192, 64, 8, 28672, 128256, 131072),
  dense('llama-3.1-405b', 'Llama-3.1-405B', 126, 16384, 128, 8, 53248, 128256, 131072),
  dense('llama-3.3-70b', 'Llama-3.3-70B', 80, 8192, 64, 8, 28672, 128256, 131072),
  dense('llama-2-7b', 'Llama-2-7B', 32, 4096, 32, 32, 11008, 32000, 4096),
  dense('llama-2-70b', 'Llama-2-70B', 80, 8192, 64, 8, 28672, 32000, 4096),
  dense('codellama-34b', 'CodeLlama-34B', 48, 8192, 64, 8, 22016, 32000, 16384),
  dense('qwen2.5-7b', 'Qwen2.5-7B', 28, 3584, 28, 4, 18944, 152064, 32768),
  dense('qwen2.5-32b', 'Qwen2.5-32B', 64, 5120, 40, 8, 27648, 152064, 32768),
  dense('qwen2.5-72b', 'Qwen2.5-72B', 80, 8192, 64, 8, 29568, 152064, 32768),
  dense('qwen3-8b', 'Qwen3-8B', 36, 4096, 32, 8, 12288, 151936, 40960),
  dense('qwen3-14b', 'Qwen3-14B', 40, 5120, 40, 8, 17408, 151936, 40960),
  dense('qwen3-32b', 'Qwen3-32B', 64, 5120, 64, 8, 25600, 151936, 40960),
  build({ id: 'qwen3-30b-a3b', name: 'Qwen3-30B-A3B', layers: 48, hidden: 2048, heads: 32, kvHeads: 4, headDim: 128, ffn: 6144, vocab: 151936,
    tiedEmbeddings: false, contextLength: 40960, moe: moe(128, 8, 768, 48), layerKinds: full(48), defaultDtype: 'bf16' }),
  build({ id: 'qwen3-235b-a22b', name: 'Qwen3-235B-A22B', layers: 94, hidden: 4096, heads: 64, kvHeads: 4, headDim: 128, ffn: 12288, vocab: 151936,
    tiedEmbeddings: false, contextLength: 40960, moe: moe(128, 8, 1536, 94), layerKinds: full(94), defaultDtype: 'bf16' }),
  dense('mistral-7b', 'Mistral-7B-v0.3', 32, 4096, 32, 8, 14336, 32768, 32768),
  build({ id: 'mixtral-8x7b', name: 'Mixtral-8x7B', layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 14336, vocab: 32000,
    tiedEmbeddings: false, contextLength: 32768, moe: moe(8, 2, 14336, 32), layerKinds: full(32), defaultDtype: 'bf16' }),
  build(deepseekV3Arch),
  // DeepSeek-V3.2-Exp: V3 with DeepSeek Sparse Attention, each query reads the top 2048 tokens.
  build({ ...deepseekV3Arch, id: 'deepseek-v3.2', name: 'DeepSeek-V3.2-Exp (sparse attention)',
    layerKinds: Array.from({ length: 61 }, () => ({ kind: 'sparse', topK: 2048 })) }),
  llama4('llama-4-scout', 'Llama-4-Scout-17B-16E', 16, 1, 10_485_760),
  llama4('llama-4-maverick', 'Llama-4-Maverick-17B-128E', 128, 2, 1_048_576),
  gptOss('gpt-oss-120b', 36, 128),
  gptOss('gpt-oss-20b', 24, 32),
  // Mamba-2 2.7B (state-spaces/mamba2-2.7b): 64 SSM layers, no attention: constant state per sequence.
  mamba2('mamba2-2.7b', 'Mamba-2 2.7B (state-space)', 64, 2560, 50288, { dInner: 5120, dState: 128, groups: 1, conv: 4, nHeads: 80 }),
];

const catalog = new Map<string, ModelSpec>(builtin.map((m) => [m.id, m]));

const aliases: Record<string, string> = {
  'llama-3.1-8b-instruct': 'llama-3.1-8b', 'meta-llama-3.1-8b': 'llama-3.1-8b', 'meta-llama-3.1-8b-instruct': 'llama-3.1-8b', 'llama-3.1-8b-instruct-fp8': 'llama-3.1-8b',
  'llama-3.1-70b-instruct': 'llama-3.1-70b', 'llama-3.3-70b-instruct': 'llama-3.3-70b', 'llama-3.3-70b-instruct-fp8': 'llama-3.3-70b',
  'llama-3.1-405b-instruct': 'llama-3.1-405b', 'llama-2-70b-hf': 'llama-2-70b', 'llama-2-70b-chat-hf': 'llama-2-70b',
  'llama-2-7b-hf': 'llama-2-7b', 'llama-2-7b-chat-hf': 'llama-2-7b', 'codellama-34b-hf': 'codellama-34b', 'codellama-34b-instruct-hf': 'codellama-34b',
  'mistral-7b-v0.3': 'mistral-7b', 'mistral-7b-instruct-v0.3': 'mistral-7b', 'mixtral-8x7b-v0.1': 'mixtral-8x7b', 'mixtral-8x7b-instruct-v0.1': 'mixtral-8x7b',
  'llama-4-scout-17b-16e': 'llama-4-scout', 'llama-4-scout-17b-16e-instruct': 'llama-4-scout',
  'llama-4-maverick-17b-128e': 'llama-4-maverick', 'llama-4-maverick-17b-128e-instruct': 'llama-4-maverick', 'llama-4-maverick-17b-128e-instruct-fp8': 'llama-4-maverick',
  'deepseek-v3-0324': 'deepseek-v3', 'deepseek-r1': 'deepseek-v3', 'deepseek-v3.2-exp': 'deepseek-v3.2',
  'qwen3-30b-a3b-instruct-2507': 'qwen3-30b-a3b', 'qwen3-30b-a3b-thinking-2507': 'qwen3-30b-a3b',
};

export class UnknownModelError extends PhysicsInputError {
  constructor(id: string) {
    super(`unknown model '${id}' (known: ${[...catalog.keys()].join(', ')}; or a path to a Hugging Face config.json)`);
  }
}

export function listModels(): ModelSpec[] {
  return [...catalog.values()];
}

/** A short id ('llama-3.1-8b', 'meta-llama/Llama-3.1-8B-Instruct' also works) or a path to a config.json. */
export function getModel(idOrPath: string): ModelSpec {
  if (idOrPath.endsWith('.json') || idOrPath.includes('/config')) return loadHfConfigFile(idOrPath);
  const key = idOrPath.toLowerCase().replace(/^.*\//, '').replace(/^meta-/, '');
  const hit = catalog.get(key) ?? catalog.get(aliases[key] ?? '') ?? catalog.get(aliases[`meta-${key}`] ?? '');
  if (hit) return hit;
  throw new UnknownModelError(idOrPath);
}

// ---------- KV and state sizes ----------

/** KV bytes one token costs in one attention layer (MLA: the shared latent plus the rope key). */
export function kvBytesPerTokenPerLayer(model: ModelSpec, kvDtype: Dtype): number {
  const b = bytesPerElement(kvDtype);
  if (model.mla) return (model.mla.kvLoraRank + model.mla.qkRopeHeadDim) * b;
  return 2 * model.kvHeads * model.headDim * b;
}

/**
 * KV bytes per token of context that grow without bound: full and sparse attention layers
 * (what reference/models.md tabulates; for gpt-oss the full layers only). Sliding layers are
 * bounded per sequence (kvBytesPerSequenceFixed), state-space layers cost a constant state.
 */
export function kvBytesPerToken(model: ModelSpec, kvDtype: Dtype): number {
  const perLayer = kvBytesPerTokenPerLayer(model, kvDtype);
  let n = 0;
  for (const k of model.layerKinds) if (k.kind === 'full' || k.kind === 'sparse') n++;
  return n * perLayer;
}

/** Upper bound of the per-sequence bytes that do not grow with context: sliding windows and SSM state. */
export function kvBytesPerSequenceFixed(model: ModelSpec, kvDtype: Dtype): number {
  const perLayer = kvBytesPerTokenPerLayer(model, kvDtype);
  let bytes = 0;
  for (const k of model.layerKinds) {
    if (k.kind === 'sliding') bytes += k.window * perLayer;
    // SSM state stays in the activation dtype (vLLM keeps Mamba state in bf16/fp32, not the KV dtype).
    if (k.kind === 'ssm') bytes += k.stateElements * 2;
  }
  return bytes;
}

/** KV (and state) bytes one sequence holds at a context of `tokens`. */
export function kvBytesForContext(model: ModelSpec, kvDtype: Dtype, tokens: number): number {
  const perLayer = kvBytesPerTokenPerLayer(model, kvDtype);
  let bytes = 0;
  for (const k of model.layerKinds) {
    if (k.kind === 'full' || k.kind === 'sparse') bytes += tokens * perLayer;
    else if (k.kind === 'sliding') bytes += Math.min(tokens, k.window) * perLayer;
    else bytes += k.stateElements * 2;
  }
  return bytes;
}

/** Bytes of weights in `dtype`: linear layers in the chosen format, embeddings and norms kept in 16 bits (as FP8/FP4 checkpoints do). */
export function weightBytes(model: ModelSpec, dtype: Dtype): number {
  const p = model.params;
  const sixteenBit = p.embedding + p.lmHead;
  const rest = p.total - sixteenBit - p.layerDense; // routed experts and the final norm
  return sixteenBit * 2 + p.layerDense * bytesPerElement(denseWeightDtype(model, dtype)) + rest * bytesPerElement(dtype);
}

