// Model catalog: architecture facts that decide memory, KV size and FLOPs. Built-in short ids
// (../shared/reference/models.md plus a few) or any Hugging Face config.json given by path.
// Parameter counts are computed from the architecture, not copied, so a config.json gets the
// same treatment as a catalog entry.
import { readFileSync } from 'node:fs';
import { bytesPerElement } from './dtype.ts';
import type { Dtype } from './types.ts';
import { PhysicsInputError } from './errors.ts';

/** What one decoder layer keeps per sequence. */
export type LayerKind =
  | { kind: 'full' } // attention over the whole context
  | { kind: 'sliding'; window: number } // attention over the last `window` tokens; KV bounded by it
  | { kind: 'sparse'; topK: number } // DeepSeek-style sparse attention: stores every token, reads top-k
  | { kind: 'ssm'; stateElements: number }; // state-space layer: constant state per sequence, no KV

export interface MlaDims {
  kvLoraRank: number;
  qLoraRank: number; // 0 when queries are not compressed
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

export interface MoeDims {
  experts: number; // routed experts per MoE layer
  topK: number;
  expertFfn: number;
  sharedExperts: number;
  sharedFfn: number; // intermediate size of each shared expert
  moeLayers: number; // how many layers are MoE (the rest use the dense `ffn`)
}

/** Mamba-2 style state-space mixer dimensions (layers of kind 'ssm'). */
export interface SsmDims {
  dInner: number;
  dState: number;
  groups: number;
  conv: number;
  nHeads: number;
}

export interface ModelSpec {
  id: string;
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number; // for MLA: 1 (the latent is shared by all heads)
  headDim: number;
  ffn: number; // dense MLP intermediate size (dense layers of a MoE model)
  vocab: number;
  tiedEmbeddings: boolean;
  contextLength: number;
  moe?: MoeDims;
  mla?: MlaDims;
  ssm?: SsmDims;
  /** Per-layer kind, length === layers. */
  layerKinds: LayerKind[];
  /** Default weight format when the user names none (e.g. gpt-oss ships MXFP4, DeepSeek-V3 FP8). */
  defaultDtype: Dtype;
  params: ParamCounts;
}

export interface ParamCounts {
  total: number;
  active: number; // parameters a token touches (MoE: top-k experts), embeddings included
  embedding: number; // input embedding table (a lookup, no FLOPs)
  lmHead: number; // 0 when tied (then the embedding table is the LM head)
  /** Per-layer non-expert weights summed over layers: attention, dense MLPs, shared experts, router, norms. */
  layerDense: number;
  /** Weights of one routed expert (0 for dense models). */
  perExpert: number;
}

type Arch = Omit<ModelSpec, 'params'>;

// ---------- parameter counting ----------

function attentionParams(a: Arch): number {
  if (a.mla) {
    const m = a.mla;
    const qHead = m.qkNopeHeadDim + m.qkRopeHeadDim;
    const q = m.qLoraRank > 0 ? a.hidden * m.qLoraRank + m.qLoraRank + m.qLoraRank * a.heads * qHead : a.hidden * a.heads * qHead;
    const kvA = a.hidden * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank;
    const kvB = m.kvLoraRank * a.heads * (m.qkNopeHeadDim + m.vHeadDim);
    const o = a.heads * m.vHeadDim * a.hidden;
    return q + kvA + kvB + o;
  }
  const qo = 2 * a.hidden * a.heads * a.headDim;
  const kv = 2 * a.hidden * a.kvHeads * a.headDim;
  return qo + kv;
}

function ssmParams(hidden: number, s: SsmDims): number {
  const inProj = hidden * (2 * s.dInner + 2 * s.groups * s.dState + s.nHeads);
  const conv = s.conv * (s.dInner + 2 * s.groups * s.dState);
  return inProj + conv + s.dInner * hidden + 3 * s.nHeads + s.dInner;
}

/** Elements of recurrent state one sequence keeps per SSM layer: the SSM state plus the conv window. */
export function ssmStateElements(s: SsmDims): number {
  return s.dInner * s.dState + (s.conv - 1) * (s.dInner + 2 * s.groups * s.dState);
}

function countParams(a: Arch): ParamCounts {
  const embedding = a.vocab * a.hidden;
  const lmHead = a.tiedEmbeddings ? 0 : a.vocab * a.hidden;
  const norms = 2 * a.hidden;
  const ssmLayers = a.layerKinds.filter((k) => k.kind === 'ssm').length;
  const attnLayers = a.layers - ssmLayers;
  const moeLayers = a.moe?.moeLayers ?? 0;
  const denseMlpLayers = a.ffn > 0 ? a.layers - moeLayers : 0;
  const denseMlp = 3 * a.hidden * a.ffn;
  let layerDense = attnLayers * attentionParams(a) + a.layers * norms + denseMlpLayers * denseMlp;
  if (a.ssm && ssmLayers > 0) layerDense += ssmLayers * ssmParams(a.hidden, a.ssm);
  let perExpert = 0;
  let experts = 0;
  let activeExperts = 0;
  if (a.moe) {
    const m = a.moe;
    perExpert = 3 * a.hidden * m.expertFfn;
    layerDense += moeLayers * (a.hidden * m.experts + m.sharedExperts * 3 * a.hidden * m.sharedFfn);
    experts = moeLayers * m.experts * perExpert;
    activeExperts = moeLayers * m.topK * perExpert;
  }
  const base = embedding + lmHead + layerDense + a.hidden;
  return { total: base + experts, active: base + activeExperts, embedding, lmHead, layerDense, perExpert };
}

function build(a: Arch): ModelSpec {
  if (a.layerKinds.length !== a.layers) throw new PhysicsInputError(`${a.id}: layerKinds has ${a.layerKinds.length} entries for ${a.layers} layers`);
  return { ...a, params: countParams(a) };
}

const full = (n: number): LayerKind[] => Array.from({ length: n }, () => ({ kind: 'full' }));
const alternating = (n: number, window: number): LayerKind[] =>
  Array.from({ length: n }, (_, i) => (i % 2 === 0 ? { kind: 'sliding', window } : { kind: 'full' }));

function dense(id: string, name: string, layers: number, hidden: number, heads: number, kvHeads: number, ffn: number, vocab: number, contextLength: number, tied = false): ModelSpec {
  return build({ id, name, layers, hidden, heads, kvHeads, headDim: 128, ffn, vocab, tiedEmbeddings: tied, contextLength, layerKinds: full(layers), defaultDtype: 'bf16' });
}

const moe = (experts: number, topK: number, expertFfn: number, moeLayers: number, sharedExperts = 0, sharedFfn = 0): MoeDims =>
  ({ experts, topK, expertFfn, sharedExperts, sharedFfn, moeLayers });

const deepseekV3Arch: Arch = {
  id: 'deepseek-v3', name: 'DeepSeek-V3', layers: 61, hidden: 7168, heads: 128, kvHeads: 1, headDim: 128, ffn: 18432,
  vocab: 129280, tiedEmbeddings: false, contextLength: 163840, moe: moe(256, 8, 2048, 58, 1, 2048),
  mla: { kvLoraRank: 512, qLoraRank: 1536, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
  layerKinds: full(61), defaultDtype: 'fp8',
};

function gptOss(id: string, layers: number, experts: number): ModelSpec {
  return build({
    id, name: id, layers, hidden: 2880, heads: 64, kvHeads: 8, headDim: 64, ffn: 2880, vocab: 201088, tiedEmbeddings: false,
    contextLength: 131072, moe: moe(experts, 4, 2880, layers), layerKinds: alternating(layers, 128), defaultDtype: 'fp4',
  });
}

function mamba2(id: string, name: string, layers: number, hidden: number, vocab: number, ssm: SsmDims): ModelSpec {
  const stateElements = ssmStateElements(ssm);
  return build({ id, name, layers, hidden, heads: ssm.nHeads, kvHeads: 0, headDim: ssm.dInner / ssm.nHeads, ffn: 0, vocab,
    tiedEmbeddings: true, contextLength: 1_000_000, ssm, layerKinds: Array.from({ length: layers }, () => ({ kind: 'ssm', stateElements })), defaultDtype: 'bf16' });
}

const builtin: ModelSpec[] = [
  dense('llama-3.1-8b', 'Llama-3.1-8B', 32, 4096, 32, 8, 14336, 128256, 131072),
  dense('llama-3.1-70b', 'Llama-3.1-70B', 80, 8192, 64, 8, 28672, 128256, 131072),
  dense('llama-3.1-405b', 'Llama-3.1-405B', 126, 16384, 128, 8, 53248, 128256, 131072),
  dense('llama-3.3-70b', 'Llama-3.3-70B', 80, 8192, 64, 8, 28672, 128256, 131072),
  dense('llama-2-70b', 'Llama-2-70B', 80, 8192, 64, 8, 28672, 32000, 4096),
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
  'mistral-7b-v0.3': 'mistral-7b', 'mistral-7b-instruct-v0.3': 'mistral-7b', 'mixtral-8x7b-v0.1': 'mixtral-8x7b', 'mixtral-8x7b-instruct-v0.1': 'mixtral-8x7b',
  'deepseek-v3-0324': 'deepseek-v3', 'deepseek-r1': 'deepseek-v3', 'deepseek-v3.2-exp': 'deepseek-v3.2',
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
  return sixteenBit * 2 + (p.total - sixteenBit) * bytesPerElement(dtype);
}

// ---------- Hugging Face config.json ----------

type Json = Record<string, unknown>;

function int(cfg: Json, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** Build a ModelSpec from a parsed config.json (dense GQA, MoE, MLA, sliding layers, sparse attention, Mamba). */
export function modelFromHfConfig(raw: unknown, id = 'custom'): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PhysicsInputError(`${id}: config.json must be a JSON object`);
  const cfg = ((raw as Json).text_config as Json | undefined) ?? (raw as Json);
  const need = (name: string, ...keys: string[]): number => {
    const v = int(cfg, ...keys);
    if (v === undefined || v < 0) throw new PhysicsInputError(`${id}: config.json lacks '${keys[0]}' (${name})`);
    return v;
  };
  const layers = need('layer count', 'num_hidden_layers', 'n_layer', 'num_layers');
  const hidden = need('hidden size', 'hidden_size', 'd_model', 'n_embd');
  const vocab = need('vocabulary size', 'vocab_size');
  const modelType = String(cfg.model_type ?? '');
  const tied = cfg.tie_word_embeddings === true || (cfg.tie_word_embeddings === undefined && modelType.startsWith('mamba'));
  const contextLength = int(cfg, 'max_position_embeddings', 'max_seq_len', 'n_positions') ?? 1_000_000;

  if (modelType.startsWith('mamba')) {
    const dInner = (int(cfg, 'expand') ?? 2) * hidden;
    const nHeads = int(cfg, 'num_heads') ?? dInner / 64;
    const ssm: SsmDims = { dInner, dState: int(cfg, 'state_size', 'd_state') ?? 128, groups: int(cfg, 'n_groups') ?? 1, conv: int(cfg, 'conv_kernel', 'd_conv') ?? 4, nHeads };
    return mamba2(id, id, layers, hidden, vocab, ssm);
  }

  const heads = need('attention heads', 'num_attention_heads', 'n_head');
  const kvHeads = int(cfg, 'num_key_value_heads') ?? heads;
  const headDim = int(cfg, 'head_dim') ?? hidden / heads;
  const ffn = int(cfg, 'intermediate_size', 'ffn_dim', 'n_inner') ?? 4 * hidden;

  const experts = int(cfg, 'num_local_experts', 'num_experts', 'n_routed_experts') ?? 0;
  let moeDims: MoeDims | undefined;
  if (experts > 1) {
    const topK = need('experts per token', 'num_experts_per_tok', 'experts_per_token', 'moe_topk');
    const expertFfn = int(cfg, 'moe_intermediate_size') ?? ffn;
    const firstDense = int(cfg, 'first_k_dense_replace') ?? 0;
    const sharedExperts = int(cfg, 'n_shared_experts') ?? (int(cfg, 'shared_expert_intermediate_size') ? 1 : 0);
    const sharedFfn = int(cfg, 'shared_expert_intermediate_size') ?? expertFfn;
    const mlpOnly = Array.isArray(cfg.mlp_only_layers) ? cfg.mlp_only_layers.length : 0;
    moeDims = moe(experts, topK, expertFfn, layers - firstDense - mlpOnly, sharedExperts, sharedFfn);
  }

  let mla: MlaDims | undefined;
  const kvLora = int(cfg, 'kv_lora_rank');
  if (kvLora) {
    mla = { kvLoraRank: kvLora, qLoraRank: int(cfg, 'q_lora_rank') ?? 0, qkNopeHeadDim: need('qk_nope_head_dim', 'qk_nope_head_dim'),
      qkRopeHeadDim: need('qk_rope_head_dim', 'qk_rope_head_dim'), vHeadDim: need('v_head_dim', 'v_head_dim') };
  }

  const window = int(cfg, 'sliding_window');
  const indexTopK = int(cfg, 'index_topk');
  let layerKinds: LayerKind[];
  if (Array.isArray(cfg.layer_types) && cfg.layer_types.length === layers) {
    layerKinds = cfg.layer_types.map((t, i): LayerKind => {
      if (t === 'sliding_attention') {
        if (!window) throw new PhysicsInputError(`${id}: layer ${i} is sliding_attention but sliding_window is not set`);
        return { kind: 'sliding', window };
      }
      return { kind: 'full' };
    });
  } else if (indexTopK) {
    layerKinds = Array.from({ length: layers }, () => ({ kind: 'sparse', topK: indexTopK }));
  } else if (window && cfg.use_sliding_window !== false && window < contextLength) {
    layerKinds = Array.from({ length: layers }, () => ({ kind: 'sliding', window }));
  } else {
    layerKinds = full(layers);
  }

  return build({
    id, name: id, layers, hidden, heads, kvHeads: mla ? 1 : kvHeads, headDim: mla ? mla.qkNopeHeadDim : headDim, ffn, vocab,
    tiedEmbeddings: tied, contextLength, ...(moeDims ? { moe: moeDims } : {}), ...(mla ? { mla } : {}), layerKinds,
    defaultDtype: 'bf16',
  });
}

export function loadHfConfigFile(path: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PhysicsInputError(`cannot read model config '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PhysicsInputError(`${path}: not valid JSON`);
  }
  const name = path.replace(/\/config\.json$/, '').replace(/^.*\//, '') || 'custom';
  return modelFromHfConfig(raw, name);
}
