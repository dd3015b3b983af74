// Dynamo KV router cost: overlap_weight * prefill_blocks + decode_blocks, lower wins.
//   prefill_blocks = this request's blocks not cached on the worker + the worker's pending prefill
//   decode_blocks  = blocks of the worker's active requests (router-tracked)
// Turned into a [0,1] score by min-max (argmin cost == argmax score; temperature 0).
import type { LearningHooks, Scorer } from '../../plugin.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE, type PrefixMatcher } from '../../prefix-match.ts';
import { lowerIsBetter } from '../../signals.ts';

export function dynamoCostScorer(matcher: PrefixMatcher, overlapWeight = 1): Scorer & LearningHooks {
  return {
    name: 'dynamo-cost',
    score: (ctx, eps) => {
      const { matched } = matcher.match(ctx, eps);
      const costs = eps.map((e, i) => {
        const bs = e.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE;
        const requestBlocks = Math.ceil(ctx.request.promptTokens / bs);
        const pending = e.inflight.pendingPrefillTokens ?? e.inflight.promptTokens;
        const prefillBlocks = Math.max(0, requestBlocks - matched[i]!) + pending / bs;
        return overlapWeight * prefillBlocks + e.inflight.predictedBlocks;
      });
      return lowerIsBetter(costs);
    },
    onScheduled: (ctx, decision) => matcher.record(ctx, decision),
  };
}
