// Drops endpoints the health checker marked down.
import type { Filter } from '../../plugin.ts';

export function healthyFilter(): Filter {
  return { name: 'healthy', filter: (_ctx, eps) => eps.filter((e) => e.healthy) };
}
