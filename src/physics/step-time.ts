// Step-time model: how long one engine iteration takes, from the physics of the batch.
//
// Each kernel family is a roofline, max(FLOPs / achievable FLOP/s, bytes / achievable bandwidth):
//   - dense linear layers (attention projections, dense MLPs, shared experts, LM head): weights
//     read once per step, FLOPs grow with the tokens in the step;
//   - routed experts (MoE): only the experts the batch touches are read; FLOPs follow top-k;
//   - attention: FLOPs grow with context, KV read once per sequence (prefill: cached + new tokens);
// plus the TP all-reduces over the scale-up link and fixed per-step, per-layer and per-request
// overheads (scheduling, launches, sampling). The few efficiencies and overheads are fitted on
// reference/calibration.md (see fit.ts and docs/physics.md); the rest is catalog data.
import { matmulFlops, type Hardware } from './hardware.ts';
import { bytesPerElement } from './dtype.ts';
import { kvBytesPerTokenPerLayer, type ModelSpec } from './models.ts';
import { denseWeightDtype } from './model-arch.ts';
import type { DecodeWork, Dtype, PrefillWork, StepBatch, StepTimeModel } from './types.ts';

export type EngineKind = 'vllm' | 'trtllm';

/** The fitted constants of the step-time model. */
export interface StepTimeCoefficients {
  /** Fraction of dense peak FLOP/s that large GEMMs reach. */
  computeEfficiency: number;
  /** Fraction of dense peak FLOP/s that attention kernels reach (FlashAttention-class). */
  attentionEfficiency: number;
  /** Fraction of peak memory bandwidth that streaming kernels reach. */
  bandwidthEfficiency: number;
  /** Fixed cost per engine iteration: scheduling, input preparation, sampling launch. */
  stepOverheadSec: number;
  /** Fixed cost per layer per iteration: kernel launches and small ops (norms, rotary, residuals). */
  layerOverheadSec: number;
  /** Cost per sequence in the batch per iteration: bookkeeping, detokenisation, sampling. */
  requestOverheadSec: number;
  /** Latency of one all-reduce launch across the TP group (on top of bytes / link bandwidth). */
  allReduceLatencySec: number;
  /**
   * Tokens at which GEMMs reach half of `computeEfficiency`: the efficiency of a step with t tokens
   * is computeEfficiency x t / (t + gemmHalfTokens) (small GEMMs fill fewer tiles and waves).
   * Optional; 0 or absent = the same efficiency at every size.
   */
  gemmHalfTokens?: number;
}

export interface StepTimeOptions {
  hardware: Hardware;
  model: ModelSpec;
  tp: number;
  weightDtype: Dtype;
  kvDtype: Dtype;
  engine?: EngineKind;
  /** Override the fitted coefficients (the fit itself uses this). */
  coefficients?: Partial<StepTimeCoefficients>;
}

/** Cost split of one step; stepSeconds() is their sum. Exposed for the planner's roofline view. */
export interface StepBreakdown {
  overheadSec: number;
  linearSec: number;
  linearBound: 'compute' | 'memory';
  expertsSec: number;
  expertsBound: 'compute' | 'memory';
  attentionSec: number;
  attentionBound: 'compute' | 'memory';
  allReduceSec: number;
  flops: number; // per GPU
  bytes: number; // per GPU, HBM traffic
  totalSec: number;
}

/**
 * A batch where each entry stands for `count` identical sequences (default 1). The analytic serving
 * model uses counts; a plain StepBatch is a WeightedBatch as it is, so the twin's per-step call
 * allocates nothing.
 */
export interface WeightedBatch {
  prefill: ReadonlyArray<PrefillWork & { count?: number }>;
  decode: ReadonlyArray<DecodeWork & { count?: number }>;
}

export interface DetailedStepTimeModel extends StepTimeModel {
  breakdown(batch: StepBatch): StepBreakdown;
  breakdownWeighted(batch: WeightedBatch): StepBreakdown;
  readonly coefficients: StepTimeCoefficients;
}

// Efficiencies and TRT-LLM overheads: fitted on the TensorRT-LLM/NIM rows of
// reference/calibration.md (tables A and B) by `node bench/physics-fit.ts`; see docs/physics.md.
// The vLLM profile shares the efficiencies and the all-reduce latency (same GPUs, same kinds of
// kernels, same NCCL) and takes BLIS's published vLLM overheads: calibration table D cannot be fitted by a steady closed loop (it implies
// more prefill FLOP/s than the GPU has; docs/physics.md), so it is reported, not fitted.
const SHARED = { computeEfficiency: 0.485, attentionEfficiency: 0.40, bandwidthEfficiency: 0.90, allReduceLatencySec: 16e-6 };

export const FITTED: Record<EngineKind, StepTimeCoefficients> = {
  trtllm: { ...SHARED, stepOverheadSec: 126e-6, layerOverheadSec: 33.7e-6, requestOverheadSec: 4.2e-6 },
  vllm: { ...SHARED, stepOverheadSec: 126e-6, layerOverheadSec: 32e-6, requestOverheadSec: 4.4e-6 },
};

/** Sum over query positions p = from+1 .. from+count of min(p, cap): attended tokens of a causal chunk. */
export function attendedTokens(from: number, count: number, cap: number): number {
  if (count <= 0) return 0;
  const end = from + count;
  if (end <= cap) return count * from + (count * (count + 1)) / 2;
  if (from >= cap) return count * cap;
  const below = cap - from; // positions from+1..cap attend to themselves
  return below * from + (below * (below + 1)) / 2 + (end - cap) * cap;
}

/**
 * Fraction of the KV each device holds. GPUs split heads over TP (replicated when TP exceeds the KV
 * heads; MLA's latent is replicated on every rank). SRAM parts shard layers across chips, so each
 * chip holds only its layers' KV.
 */
export function kvShardFraction(model: ModelSpec, tp: number, hw?: Hardware): number {
  if (hw?.memoryKind === 'sram') return 1 / tp;
  if (model.mla || model.kvHeads === 0) return 1;
  return Math.ceil(model.kvHeads / tp) / model.kvHeads;
}

export function createStepTimeModel(opts: StepTimeOptions): DetailedStepTimeModel {
  const { hardware: hw, model, tp, weightDtype, kvDtype } = opts;
  const c: StepTimeCoefficients = { ...FITTED[opts.engine ?? 'vllm'], ...opts.coefficients };
  const wBytes = bytesPerElement(weightDtype);
  const denseDtype = denseWeightDtype(model, weightDtype);
  const p = model.params;

  const mmFlops = matmulFlops(hw, weightDtype) * c.computeEfficiency;
  const denseMmFlops = matmulFlops(hw, denseDtype) * c.computeEfficiency;
  const gemmHalf = c.gemmHalfTokens ?? 0;
  // Attention runs in 16 bits unless the KV cache is FP8 on a part with native FP8 (TRT-LLM FP8 FMHA).
  const attnFlops = (kvDtype === 'fp8' ? hw.flops.fp8 : hw.flops.bf16) * c.attentionEfficiency;
  const bw = hw.memBandwidthBytesPerSec * c.bandwidthEfficiency;

  // Per-GPU constants.
  const lmHeadParams = p.lmHead || p.embedding; // tied models use the embedding table as the LM head
  const denseLayerParams = p.layerDense;
  const denseBytes = (denseLayerParams * bytesPerElement(denseDtype) + lmHeadParams * 2) / tp;
  const expertBytes = (p.perExpert * wBytes) / tp;
  const moe = model.moe;
  const kvShard = kvShardFraction(model, tp, hw);
  const kvLayerBytes = kvBytesPerTokenPerLayer(model, kvDtype) * kvShard;
  const mla = model.mla;
  // Per-head dims of QK and AV: MLA prefill runs uncompressed, MLA decode runs in the latent (absorbed) space.
  const prefillDims = mla ? mla.qkNopeHeadDim + mla.qkRopeHeadDim + mla.vHeadDim : 2 * model.headDim;
  const decodeDims = mla ? 2 * mla.kvLoraRank + mla.qkRopeHeadDim : 2 * model.headDim;
  const headsPerGpu = model.heads / tp;
  const allReducesPerStep = tp > 1 ? 2 * model.layers : 0;
  const linkBw = hw.scaleUpBandwidthBytesPerSec;
  const layerSharded = hw.memoryKind === 'sram';

  // Layers grouped by how far attention reaches (full, a sliding window, sparse top-k) or SSM state.
  const groups = new Map<string, { cap: number; ssmElements: number; sliding: boolean; layers: number }>();
  for (const kind of model.layerKinds) {
    const cap = kind.kind === 'sliding' ? kind.window : kind.kind === 'sparse' ? kind.topK : Infinity;
    const ssmElements = kind.kind === 'ssm' ? kind.stateElements : 0;
    const key = `${kind.kind}:${cap}:${ssmElements}`;
    const g = groups.get(key);
    if (g) g.layers++;
    else groups.set(key, { cap, ssmElements, sliding: kind.kind === 'sliding', layers: 1 });
  }
  const layerGroups = [...groups.values()];

  function breakdownWeighted(batch: WeightedBatch): StepBreakdown {
    let tokens = 0;
    let seqs = 0;
    for (const pw of batch.prefill) {
      const n = pw.count ?? 1;
      tokens += pw.tokens * n;
      seqs += n;
    }
    // Full-attention layers read every decode's whole context: one sum serves them all (exact, as
    // these are integers), so only windowed and sparse layers walk the decodes again.
    let decodeContext = 0;
    for (const d of batch.decode) {
      const n = d.count ?? 1;
      tokens += n;
      seqs += n;
      decodeContext += n * d.contextLength;
    }
    if (seqs === 0) {
      return { overheadSec: 0, linearSec: 0, linearBound: 'memory', expertsSec: 0, expertsBound: 'memory', attentionSec: 0, attentionBound: 'memory', allReduceSec: 0, flops: 0, bytes: 0, totalSec: 0 };
    }
    const sampled = seqs; // one logits row per sequence (prefill chunks included; an upper bound)

    // Dense linear layers + LM head.
    const linFlops = (2 * denseLayerParams * tokens + 2 * lmHeadParams * sampled) / tp;
    const gemmRamp = 1 + gemmHalf / tokens; // 1 / (t / (t + t_half))
    const linearCompute = (linFlops * gemmRamp) / denseMmFlops;
    const linearMemory = denseBytes / bw;
    const linearSec = Math.max(linearCompute, linearMemory);

    // Routed experts: the batch touches E x (1 - (1 - k/E)^T) distinct experts per MoE layer.
    let expertsSec = 0;
    let expertsBound: 'compute' | 'memory' = 'memory';
    let expFlops = 0;
    let expBytes = 0;
    if (moe) {
      const touched = moe.experts * (1 - Math.pow(1 - moe.topK / moe.experts, tokens));
      expBytes = moe.moeLayers * touched * expertBytes;
      expFlops = (2 * moe.moeLayers * moe.topK * p.perExpert * tokens) / tp;
      const expertsCompute = (expFlops * gemmRamp) / mmFlops;
      expertsSec = Math.max(expertsCompute, expBytes / bw);
      expertsBound = expertsCompute >= expBytes / bw ? 'compute' : 'memory';
    }

    // Attention: per layer kind, FLOPs over attended tokens and KV bytes read.
    let attFlops = 0;
    let kvRead = 0;
    for (const g of layerGroups) {
      if (g.ssmElements > 0) {
        // Constant state read and written once per sequence; the scan's FLOPs are small next to the projections.
        kvRead += g.layers * seqs * 2 * g.ssmElements * 2 / tp;
        continue;
      }
      for (const pw of batch.prefill) {
        const n = g.layers * (pw.count ?? 1);
        attFlops += n * 2 * headsPerGpu * prefillDims * attendedTokens(pw.cachedContext, pw.tokens, g.cap);
        const stored = pw.cachedContext + pw.tokens;
        kvRead += n * (g.sliding ? Math.min(stored, g.cap + pw.tokens) : stored) * kvLayerBytes;
      }
      if (g.cap === Infinity) {
        attFlops += g.layers * 2 * headsPerGpu * decodeDims * decodeContext;
        kvRead += g.layers * decodeContext * kvLayerBytes;
        continue;
      }
      for (const d of batch.decode) {
        const ctx = Math.min(d.contextLength, g.cap);
        const n = g.layers * (d.count ?? 1);
        attFlops += n * 2 * headsPerGpu * decodeDims * ctx;
        kvRead += n * ctx * kvLayerBytes;
      }
    }
    const attentionCompute = attFlops / attnFlops;
    const attentionMemory = kvRead / bw;
    const attentionSec = Math.max(attentionCompute, attentionMemory);

    // GPUs: two all-reduces per layer of tokens x hidden activations in 16 bits (ring: 2(n-1)/n of
    // the data each way). SRAM parts pipeline layers across chips: one activation hand-off per layer.
    const activationBytes = tokens * model.hidden * 2;
    const allReduceSec = tp <= 1 ? 0 : layerSharded
      ? model.layers * (c.allReduceLatencySec + activationBytes / linkBw)
      : allReducesPerStep * (c.allReduceLatencySec + (2 * (tp - 1) / tp) * activationBytes / linkBw);

    const overheadSec = c.stepOverheadSec + model.layers * c.layerOverheadSec + seqs * c.requestOverheadSec;
    const totalSec = overheadSec + linearSec + expertsSec + attentionSec + allReduceSec;
    return {
      overheadSec,
      linearSec,
      linearBound: linearCompute >= linearMemory ? 'compute' : 'memory',
      expertsSec,
      expertsBound,
      attentionSec,
      attentionBound: attentionCompute >= attentionMemory ? 'compute' : 'memory',
      allReduceSec,
      flops: linFlops + expFlops + attFlops,
      bytes: denseBytes + expBytes + kvRead,
      totalSec,
    };
  }

  return {
    coefficients: c,
    breakdown: breakdownWeighted,
    breakdownWeighted,
    stepSeconds: (batch) => breakdownWeighted(batch).totalSec,
  };
}
