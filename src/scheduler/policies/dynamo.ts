// Dynamo's KV router: cost = overlap_weight (1.0) x prefill blocks + decode blocks over its
// event-fed KV indexer; temperature 0 = argmin, ties to the worker listed first.
import { PreciseIndex } from '../../kv/precise-index.ts';
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { dynamoCostScorer } from '../plugins/scorers/dynamo-cost.ts';
import { preciseMatcher } from '../prefix-match.ts';
import { baseFilters, type Policy } from './policy.ts';

export function dynamoPolicy(index: PreciseIndex = new PreciseIndex()): Policy {
  const matcher = preciseMatcher(index);
  const scorer = dynamoCostScorer(matcher, 1);
  const picker = maxScorePicker('first');
  return {
    profile: (role) => ({ name: role, filters: baseFilters(role), scorers: [{ scorer, weight: 1 }], picker }),
    cachedTokens: matcher.cachedTokens,
  };
}
