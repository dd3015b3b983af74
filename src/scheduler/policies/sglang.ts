// SGLang's cache-aware router with its CLI defaults: cache threshold 0.3, balance abs 64, rel 1.5.
// The tree budget is SGLang's max_tree_size (2^26 characters) / 4: token-only requests (traces)
// put one token id per unit (about 4 characters), and the bound must hold for them too.
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { SGLANG_DEFAULTS, sglangCacheAwareScorer } from '../plugins/scorers/sglang-cache-aware.ts';
import { baseFilters, type Policy } from './policy.ts';

export function sglangPolicy(): Policy {
  const maxTreeUnits = SGLANG_DEFAULTS.maxTreeUnits / 4;
  const scorer = sglangCacheAwareScorer({ ...SGLANG_DEFAULTS, maxTreeUnits });
  const picker = maxScorePicker('random');
  return { profile: (role) => ({ name: role, filters: baseFilters(role), scorers: [{ scorer, weight: 1 }], picker }) };
}
