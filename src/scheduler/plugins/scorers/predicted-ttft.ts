// inferstack's scorer: lowest predicted TTFT wins. Cache affinity enters only through the prefill
// it saves (cached tokens are not recomputed), and queueing through the work already promised to
// each endpoint, so a hot endpoint stops attracting requests once its queue costs more than the
// cache saves. Score = best / own prediction, so it stays in (0, 1] and keeps the ratio.
import type { LearningHooks, Scorer } from '../../plugin.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE, type PrefixMatcher } from '../../prefix-match.ts';
import type { TtftPredictor } from '../../ttft-predictor.ts';

/** The last prediction per scheduling call, so the decision can report the cached tokens it assumed. */
export const PREDICTION_MEMO = Symbol('predicted-ttft');

export function predictedTtftScorer(matcher: PrefixMatcher, predictor: TtftPredictor): Scorer & LearningHooks {
  return {
    name: 'predicted-ttft',
    score: (ctx, eps) => {
      const { matched } = matcher.match(ctx, eps);
      const r = ctx.request;
      const seconds = eps.map((e, i) => {
        const bs = e.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE;
        const cachedTokens = Math.min(r.promptTokens, Math.floor(matched[i]! * bs));
        return predictor.predict(e, { promptTokens: r.promptTokens, cachedTokens, maxTokens: r.maxTokens ?? 256, blockSize: bs }, ctx.now).seconds;
      });
      const best = Math.min(...seconds);
      return seconds.map((s) => (s > 0 ? best / s : 1));
    },
    onScheduled: (ctx, decision) => matcher.record(ctx, decision),
  };
}
