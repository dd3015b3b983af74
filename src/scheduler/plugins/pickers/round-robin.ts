// Round-robin: ignores scores, rotates a cursor over the candidates. The cursor is the only state.
import type { Picker } from '../../plugin.ts';

export function roundRobinPicker(): Picker {
  let cursor = 0;
  return {
    name: 'round-robin',
    pick: (_ctx, eps) => {
      if (eps.length === 0) return [];
      const start = cursor % eps.length;
      cursor = (cursor + 1) % 1_000_000_007;
      return eps.map((_, k) => eps[(start + k) % eps.length]!);
    },
  };
}
