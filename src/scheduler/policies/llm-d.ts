// llm-d's default EndpointPickerConfig: queue-scorer 2, kv-cache-utilization-scorer 2,
// prefix-cache-scorer 3 (approximate: router-side, learns from its own decisions), max-score
// picker with random tie-break.
import { ApproximateIndex } from '../../kv/approximate-index.ts';
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { kvUtilizationScorer } from '../plugins/scorers/kv-utilization.ts';
import { prefixScorer } from '../plugins/scorers/prefix.ts';
import { queueScorer } from '../plugins/scorers/queue.ts';
import { approximateMatcher } from '../prefix-match.ts';
import { baseFilters, type Policy } from './policy.ts';

export function llmdPolicy(index?: ApproximateIndex): Policy {
  const capacities = new Map<string, number>();
  const ix = index ?? new ApproximateIndex({ capacityFor: (id) => capacities.get(id) });
  const matcher = approximateMatcher(ix, capacities);
  const scorers = [
    { scorer: queueScorer(), weight: 2 },
    { scorer: kvUtilizationScorer(), weight: 2 },
    { scorer: prefixScorer(matcher), weight: 3 },
  ];
  const picker = maxScorePicker('random');
  return {
    profile: (role) => ({ name: role, filters: baseFilters(role), scorers, picker }),
    cachedTokens: matcher.cachedTokens,
  };
}
