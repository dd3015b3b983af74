// Hugging Face config.json -> ModelSpec: dense GQA, MoE (Mixtral, Qwen, DeepSeek, gpt-oss field
// names), MLA, per-layer sliding windows (layer_types), DeepSeek sparse attention (index_topk), Mamba.
import { readFileSync } from 'node:fs';
import { PhysicsInputError } from './errors.ts';
import { build, full, mamba2, moe, type LayerKind, type MlaDims, type ModelSpec, type MoeDims, type SsmDims } from './model-arch.ts';

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
  let denseFfn = ffn;
  if (experts > 1) {
    const topK = need('experts per token', 'num_experts_per_tok', 'experts_per_token', 'moe_topk');
    const llama4 = int(cfg, 'intermediate_size_mlp') !== undefined; // Llama 4: experts use intermediate_size
    const expertFfn = llama4 ? ffn : (int(cfg, 'moe_intermediate_size') ?? ffn);
    if (llama4) denseFfn = int(cfg, 'intermediate_size_mlp')!;
    const firstDense = int(cfg, 'first_k_dense_replace') ?? 0;
    const sharedExperts = llama4 ? 1 : (int(cfg, 'n_shared_experts') ?? (int(cfg, 'shared_expert_intermediate_size') ? 1 : 0));
    const sharedFfn = llama4 ? ffn : (int(cfg, 'shared_expert_intermediate_size') ?? expertFfn);
    const mlpOnly = Array.isArray(cfg.mlp_only_layers) ? cfg.mlp_only_layers.length : 0;
    const every = int(cfg, 'interleave_moe_layer_step', 'decoder_sparse_step') ?? 1;
    moeDims = moe(experts, topK, expertFfn, Math.floor((layers - firstDense - mlpOnly) / Math.max(1, every)), sharedExperts, sharedFfn);
  }

  let mla: MlaDims | undefined;
  const kvLora = int(cfg, 'kv_lora_rank');
  if (kvLora) {
    mla = { kvLoraRank: kvLora, qLoraRank: int(cfg, 'q_lora_rank') ?? 0, qkNopeHeadDim: need('qk_nope_head_dim', 'qk_nope_head_dim'),
      qkRopeHeadDim: need('qk_rope_head_dim', 'qk_rope_head_dim'), vHeadDim: need('v_head_dim', 'v_head_dim') };
  }

  const window = int(cfg, 'sliding_window');
  const indexTopK = int(cfg, 'index_topk');
  const chunk = int(cfg, 'attention_chunk_size');
  let layerKinds: LayerKind[];
  if (chunk && Array.isArray(cfg.no_rope_layers) && cfg.no_rope_layers.length === layers) {
    // Llama 4: layers with RoPE (1) attend within their chunk, NoPE layers (0) are global.
    layerKinds = cfg.no_rope_layers.map((r): LayerKind => (r ? { kind: 'sliding', window: chunk } : { kind: 'full' }));
  } else if (chunk) {
    layerKinds = Array.from({ length: layers }, (_, i): LayerKind => ((i + 1) % 4 === 0 ? { kind: 'full' } : { kind: 'sliding', window: chunk }));
  } else if (Array.isArray(cfg.layer_types) && cfg.layer_types.length === layers) {
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
    id, name: id, layers, hidden, heads, kvHeads: mla ? 1 : kvHeads, headDim: mla ? mla.qkNopeHeadDim : headDim, ffn: denseFfn, vocab,
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
