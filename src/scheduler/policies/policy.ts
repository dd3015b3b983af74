// A policy is a recipe for profiles. The factory builds its stateful plugins once (indexes,
// session memory, cursors) and `profile(role)` composes them, so a prefill/decode setup shares
// what the policy learns between its two profiles.
import type { LearningHooks, SchedulingContext, SchedulingProfile } from '../plugin.ts';
import type { Random } from '../../util/seeded-random.ts';
import type { EndpointView } from '../types.ts';
import { healthyFilter } from '../plugins/filters/healthy.ts';
import { loraAffinityFilter } from '../plugins/filters/lora-affinity.ts';
import { modelFilter } from '../plugins/filters/model.ts';
import { roleFilter } from '../plugins/filters/role.ts';
import type { Filter } from '../plugin.ts';

export type ProfileRole = 'default' | 'decode' | 'prefill';

export interface PolicyDeps {
  random: Random;
}

export interface Policy {
  profile(role: ProfileRole): SchedulingProfile;
  /** Prompt tokens this policy believes are cached on an endpoint (P/D threshold); 0 if it has no index. */
  cachedTokens?(ctx: SchedulingContext, endpoint: EndpointView): number;
  /** Seconds to the first token this policy predicts for the request on `endpoint`, if it predicts. */
  predictedTtftSeconds?(ctx: SchedulingContext, endpoint: EndpointView): number | undefined;
  /** Learning plugins outside the profiles (e.g. an index fed by decisions). */
  hooks?: LearningHooks[];
}

/** The filters every policy starts with: serves the model, healthy, LoRA affinity, role. */
export function baseFilters(role: ProfileRole): Filter[] {
  const filters = [modelFilter(), healthyFilter(), loraAffinityFilter()];
  if (role !== 'default') filters.push(roleFilter(role));
  return filters;
}
