// Keeps endpoints that can play a role in disaggregated serving: 'decode' keeps decode and
// both-role endpoints, 'prefill' keeps prefill and both-role endpoints. Endpoints without a role
// count as 'both'.
import type { Filter } from '../../plugin.ts';

export function roleFilter(role: 'prefill' | 'decode'): Filter {
  return {
    name: `role-${role}`,
    filter: (_ctx, eps) => eps.filter((e) => (e.role ?? 'both') === 'both' || e.role === role),
  };
}
