// Model architecture: the shape facts a ModelSpec carries and the parameter counting that turns
// an architecture into total/active parameters. Shared by the catalog (models.ts) and the
// Hugging Face config reader (hf-config.ts).
import { PhysicsInputError } from './errors.ts';
import type { Dtype } from './types.ts';

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
  /**
   * A 4-bit weight format covers the routed experts only; attention, router and shared weights stay
   * BF16 (gpt-oss's MXFP4 checkpoints). Otherwise the format covers every linear layer but the LM head.
   */
  lowBitExpertsOnly?: boolean;
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

export type Arch = Omit<ModelSpec, 'params'>;

/** The format of the non-expert linear weights (attention, dense MLPs, router) under weight format `dtype`. */
export function denseWeightDtype(model: Pick<ModelSpec, 'lowBitExpertsOnly'>, dtype: Dtype): Dtype {
  return model.lowBitExpertsOnly && (dtype === 'fp4' || dtype === 'int4') ? 'bf16' : dtype;
}

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

export function build(a: Arch): ModelSpec {
  if (a.layerKinds.length !== a.layers) throw new PhysicsInputError(`${a.id}: layerKinds has ${a.layerKinds.length} entries for ${a.layers} layers`);
  return { ...a, params: countParams(a) };
}

export const full = (n: number): LayerKind[] => Array.from({ length: n }, () => ({ kind: 'full' }));
export const alternating = (n: number, window: number): LayerKind[] =>
  Array.from({ length: n }, (_, i) => (i % 2 === 0 ? { kind: 'sliding', window } : { kind: 'full' }));

export function dense(id: string, name: string, layers: number, hidden: number, heads: number, kvHeads: number, ffn: number, vocab: number, contextLength: number, tied = false): ModelSpec {
  return build({ id, name, layers, hidden, heads, kvHeads, headDim: 128, ffn, vocab, tiedEmbeddings: tied, contextLength, layerKinds: full(layers), defaultDtype: 'bf16' });
}

export const moe = (experts: number, topK: number, expertFfn: number, moeLayers: number, sharedExperts = 0, sharedFfn = 0): MoeDims =>
  ({ experts, topK, expertFfn, sharedExperts, sharedFfn, moeLayers });

export function mamba2(id: string, name: string, layers: number, hidden: number, vocab: number, ssm: SsmDims): ModelSpec {
  const stateElements = ssmStateElements(ssm);
  return build({ id, name, layers, hidden, heads: ssm.nHeads, kvHeads: 0, headDim: ssm.dInner / ssm.nHeads, ffn: 0, vocab,
    tiedEmbeddings: true, contextLength: 1_000_000, ssm, layerKinds: Array.from({ length: layers }, () => ({ kind: 'ssm', stateElements })), defaultDtype: 'bf16' });
}
