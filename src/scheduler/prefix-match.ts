// Prefix matching shared by the prefix scorers, the P/D threshold and the TTFT predictor: computes
// a request's block keys once per scheduling call (memoised in the context) and asks the index how
// many leading blocks each endpoint holds.
import { approxKeysFromText, approxKeysFromTokens, APPROX_BLOCK_TOKENS } from '../kv/approx-keys.ts';
import type { ApproximateIndex } from '../kv/approximate-index.ts';
import type { PreciseIndex } from '../kv/precise-index.ts';
import { hashBlocks } from '../twin/core/block-hash.ts';
import type { SchedulingContext } from './plugin.ts';
import type { EndpointView, SchedulingDecision } from './types.ts';

export const DEFAULT_ENGINE_BLOCK_SIZE = 16;

export interface PrefixMatcher {
  readonly kind: 'approximate' | 'precise';
  /** Tier-weighted matched blocks and the request's block count, per endpoint. */
  match(ctx: SchedulingContext, endpoints: EndpointView[]): { matched: number[]; total: number[] };
  /** Prompt tokens believed cached on one endpoint. */
  cachedTokens(ctx: SchedulingContext, endpoint: EndpointView): number;
  /** Tell the index where the request went (learning / speculative entries). */
  record(ctx: SchedulingContext, decision: SchedulingDecision): void;
}

/** Endpoints the decision will fill with the prompt's KV: the decode pick and any prefill pick. */
function placed(decision: SchedulingDecision): EndpointView[] {
  const out: EndpointView[] = [];
  if (decision.endpoints[0]) out.push(decision.endpoints[0]);
  if (decision.prefill?.[0]) out.push(decision.prefill[0]);
  return out;
}

/**
 * Wraps a matcher's raw lookup so that, within one scheduling call, each endpoint's match is
 * computed once however many plugins ask (scorer, P/D threshold, decision accounting).
 */
function withMemo(
  kind: PrefixMatcher['kind'],
  lookup: (ctx: SchedulingContext, eps: EndpointView[]) => { matched: number[]; total: number[] },
  tokensPerBlock: (ep: EndpointView) => number,
  record: PrefixMatcher['record'],
): PrefixMatcher {
  const memoKey = {};
  const match = (ctx: SchedulingContext, eps: EndpointView[]) => {
    const seen = memoized(ctx, memoKey, () => new Map<string, [number, number]>());
    const missing = eps.filter((e) => !seen.has(e.id));
    if (missing.length > 0) {
      const r = lookup(ctx, missing);
      missing.forEach((e, i) => seen.set(e.id, [r.matched[i]!, r.total[i]!]));
    }
    return { matched: eps.map((e) => seen.get(e.id)![0]), total: eps.map((e) => seen.get(e.id)![1]) };
  };
  return {
    kind,
    match,
    cachedTokens: (ctx, ep) => Math.min(ctx.request.promptTokens, Math.floor(match(ctx, [ep]).matched[0]! * tokensPerBlock(ep))),
    record,
  };
}

function memoized<T>(ctx: SchedulingContext, key: unknown, make: () => T): T {
  if (ctx.memo.has(key)) return ctx.memo.get(key) as T;
  const v = make();
  ctx.memo.set(key, v);
  return v;
}

/**
 * Router-side index learned from decisions; text in 64-char blocks or ids in 16-token blocks.
 * `capacities` (endpoint id -> num_gpu_blocks) is filled from the views seen, for the index's LRU sizing.
 */
export function approximateMatcher(index: ApproximateIndex, capacities?: Map<string, number>): PrefixMatcher {
  const memoKey = {};
  const keysOf = (ctx: SchedulingContext) =>
    memoized(ctx, memoKey, () => {
      const r = ctx.request;
      if (r.promptText !== undefined) return approxKeysFromText(r.promptText, r.model, r.cacheSalt);
      if (r.promptTokenIds) return approxKeysFromTokens(r.promptTokenIds, r.model, r.cacheSalt);
      return [];
    });
  const lookup = (ctx: SchedulingContext, eps: EndpointView[]) => {
    const keys = keysOf(ctx);
    return { matched: index.matchedBlocks(keys, eps.map((e) => e.id)), total: eps.map(() => keys.length) };
  };
  return withMemo('approximate', lookup, () => APPROX_BLOCK_TOKENS, (ctx, decision) => {
      const keys = keysOf(ctx);
      if (keys.length === 0) return;
      for (const ep of placed(decision)) {
        if (capacities && ep.metrics.numGpuBlocks && !capacities.has(ep.id)) capacities.set(ep.id, ep.metrics.numGpuBlocks);
        index.recordDecision(ep.id, keys, ctx.now);
      }
  });
}

/** Event-fed index keyed by our token hashes at each engine's block size; needs token ids. */
export function preciseMatcher(index: PreciseIndex): PrefixMatcher {
  const memoKey = {};
  const blockSizeOf = (ep: EndpointView) => ep.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE;
  const keysOf = (ctx: SchedulingContext, bs: number): bigint[] => {
    const byBs = memoized(ctx, memoKey, () => new Map<number, bigint[]>());
    let keys = byBs.get(bs);
    if (!keys) {
      const r = ctx.request;
      // Keys the caller computed with the tokenization (and cached with it) save the hashing.
      if (r.promptBlockKeys && r.promptBlockKeys.blockSize === bs) keys = r.promptBlockKeys.keys as bigint[];
      else keys = r.promptTokenIds ? hashBlocks(r.promptTokenIds, bs, r.cacheSalt, r.lora) : [];
      byBs.set(bs, keys);
    }
    return keys;
  };
  const lookup = (ctx: SchedulingContext, eps: EndpointView[]) => {
    const matched = new Array<number>(eps.length).fill(0);
    const total = new Array<number>(eps.length).fill(0);
    const groups = new Map<number, number[]>(); // block size -> endpoint positions
    eps.forEach((e, i) => {
      const bs = blockSizeOf(e);
      const g = groups.get(bs);
      if (g) g.push(i);
      else groups.set(bs, [i]);
    });
    for (const [bs, positions] of groups) {
      const keys = keysOf(ctx, bs);
      const m = index.matchedBlocks(keys, positions.map((i) => eps[i]!.id), ctx.now);
      positions.forEach((i, k) => {
        matched[i] = m[k]!;
        total[i] = keys.length;
      });
    }
    return { matched, total };
  };
  return withMemo('precise', lookup, blockSizeOf, (ctx, decision) => {
    for (const ep of placed(decision)) {
      const keys = keysOf(ctx, blockSizeOf(ep));
      if (keys.length > 0) index.recordDecision(ep.id, keys, ctx.now);
    }
  });
}
