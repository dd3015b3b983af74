// inferstack's scorer: lowest predicted cost wins. Cache affinity enters only through the prefill
// it saves (cached tokens are not recomputed), and queueing through the work already promised to
// each endpoint, so a hot endpoint stops attracting requests once its queue costs more than the
// cache saves. Score = best cost / own cost, so it stays in (0, 1] and keeps the ratio.
import type { LearningHooks, SchedulingContext, Scorer } from '../../plugin.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE, type PrefixMatcher } from '../../prefix-match.ts';
import type { TtftPredictor } from '../../ttft-predictor.ts';

/**
 * The cost minimised is predicted TTFT + FOLLOWER_WEIGHT x this request's own prefill time (+ the
 * delay it adds to the prefills already waiting there, the predictor's sharedStepDelaySeconds): the
 * prefill also delays every request that queues behind it and evicts cache others could reuse, so
 * saved prefill is worth more than the requester's own TTFT. Chosen on the Mooncake trace at 2x
 * rate (1 to 10 tried: higher raises the hit rate and the p90 TTFT together; 5 to 8 again once
 * decodes were priced over their real context, which made every step dearer: 7 from 6); checked
 * on the other traces in docs/routing.md.
 */
export const FOLLOWER_WEIGHT = 7;

interface Predicted {
  /** Predicted TTFT there. */
  seconds: number;
  /** Of which this request's own prefill, and the step already planned (for the predictor's backlog). */
  prefill: number;
  planned: number;
}

export interface PredictedTtftScorer extends Scorer, LearningHooks {
  /** What this call's scoring predicted for `endpointId`, in seconds; undefined without a step-time model. */
  predicted(ctx: SchedulingContext, endpointId: string): number | undefined;
}

export function predictedTtftScorer(matcher: PrefixMatcher, predictor: TtftPredictor): PredictedTtftScorer {
  const memoKey = {};
  const memo = (ctx: SchedulingContext) => ctx.memo.get(memoKey) as Map<string, Predicted> | undefined;
  return {
    name: 'predicted-ttft',
    score: (ctx, eps) => {
      const { matched } = matcher.match(ctx, eps);
      const r = ctx.request;
      const own = new Map<string, Predicted>();
      ctx.memo.set(memoKey, own);
      const cached = eps.map((e, i) => Math.min(r.promptTokens, Math.floor(matched[i]! * (e.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE))));
      // A prefix most endpoints already hold (a shared system prompt) is cheap to add to one more:
      // it does not count toward the follower term, or a cold endpoint would never be warmed.
      const common = [...cached].sort((a, b) => b - a)[Math.floor(eps.length / 2)] ?? 0;
      const seconds = eps.map((e, i) => {
        const bs = e.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE;
        const p = predictor.predict(e, { promptTokens: r.promptTokens, cachedTokens: cached[i]!, maxTokens: r.maxTokens ?? 256, blockSize: bs }, ctx.now);
        own.set(e.id, { seconds: p.seconds, prefill: p.ownPrefillSeconds, planned: p.plannedStepSeconds });
        const uncached = r.promptTokens - cached[i]!;
        const scarce = uncached > 0 ? (r.promptTokens - Math.max(cached[i]!, common)) / uncached : 0;
        return p.seconds + FOLLOWER_WEIGHT * p.ownPrefillSeconds * scarce + p.sharedStepDelaySeconds;
      });
      const best = Math.min(...seconds);
      return seconds.map((s) => (s > 0 ? best / s : 1));
    },
    predicted: (ctx, endpointId) => (predictor.predictsSeconds ? memo(ctx)?.get(endpointId)?.seconds : undefined),
    onScheduled: (ctx, decision) => {
      matcher.record(ctx, decision);
      const filled = decision.prefill?.[0] ?? decision.endpoints[0];
      const own = memo(ctx)?.get(filled?.id ?? '');
      if (filled && own !== undefined) predictor.commit(filled.id, ctx.now, own.prefill, own.planned);
    },
  };
}
