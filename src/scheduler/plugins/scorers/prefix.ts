// llm-d prefix-cache scorer: matched blocks / request blocks, from whichever index the matcher
// wraps (approximate or precise). Teaches the index where each request went.
import type { LearningHooks, Scorer } from '../../plugin.ts';
import type { PrefixMatcher } from '../../prefix-match.ts';

export function prefixScorer(matcher: PrefixMatcher): Scorer & LearningHooks {
  return {
    name: `prefix-${matcher.kind}`,
    score: (ctx, eps) => {
      const { matched, total } = matcher.match(ctx, eps);
      return matched.map((m, i) => (total[i]! > 0 ? m / total[i]! : 0));
    },
    onScheduled: (ctx, decision) => matcher.record(ctx, decision),
  };
}
