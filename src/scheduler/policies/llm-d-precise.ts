// llm-d's precise-prefix configuration: precise-prefix-cache-scorer 2 (fed by the engines' KV
// events, speculative entries for 2 s), kv-cache-utilization 1, queue 1, max-score picker.
import { PreciseIndex } from '../../kv/precise-index.ts';
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { kvUtilizationScorer } from '../plugins/scorers/kv-utilization.ts';
import { prefixScorer } from '../plugins/scorers/prefix.ts';
import { queueScorer } from '../plugins/scorers/queue.ts';
import { preciseMatcher } from '../prefix-match.ts';
import { baseFilters, type Policy } from './policy.ts';

export function llmdPrecisePolicy(index: PreciseIndex = new PreciseIndex()): Policy {
  const matcher = preciseMatcher(index);
  const scorers = [
    { scorer: prefixScorer(matcher), weight: 2 },
    { scorer: kvUtilizationScorer(), weight: 1 },
    { scorer: queueScorer(), weight: 1 },
  ];
  const picker = maxScorePicker('random');
  return {
    profile: (role) => ({ name: role, filters: baseFilters(role), scorers, picker }),
    cachedTokens: matcher.cachedTokens,
  };
}
