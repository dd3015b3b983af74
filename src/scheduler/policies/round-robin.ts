// round-robin: rotate over healthy endpoints; the baseline every router is measured against.
import { roundRobinPicker } from '../plugins/pickers/round-robin.ts';
import { baseFilters, type Policy } from './policy.ts';

export function roundRobinPolicy(): Policy {
  const picker = roundRobinPicker();
  return { profile: (role) => ({ name: role, filters: baseFilters(role), scorers: [], picker }) };
}
