// Samples endpoints with probability proportional to score, without replacement, so the order
// doubles as the fallback list. A small floor keeps zero-score endpoints reachable as last resorts.
import type { Picker } from '../../plugin.ts';

const FLOOR = 1e-6;

export function weightedRandomPicker(): Picker {
  return {
    name: 'weighted-random',
    pick: (ctx, eps, scores) => {
      const pool = eps.map((e, i) => ({ e, w: Math.max(FLOOR, scores[i]!) }));
      const out = [];
      while (pool.length > 0) {
        let total = 0;
        for (const p of pool) total += p.w;
        let r = ctx.random() * total;
        let k = 0;
        while (k < pool.length - 1 && r >= pool[k]!.w) r -= pool[k++]!.w;
        out.push(pool[k]!.e);
        pool.splice(k, 1);
      }
      return out;
    },
  };
}
