// least-load: fewest outstanding requests, random tie-break.
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { leastLoadScorer } from '../plugins/scorers/least-load.ts';
import { baseFilters, type Policy } from './policy.ts';

export function leastLoadPolicy(): Policy {
  const scorer = leastLoadScorer();
  const picker = maxScorePicker('random');
  return { profile: (role) => ({ name: role, filters: baseFilters(role), scorers: [{ scorer, weight: 1 }], picker }) };
}
