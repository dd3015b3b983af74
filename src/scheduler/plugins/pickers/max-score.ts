// Highest total score wins; ties broken at random (llm-d max-score picker) or by list order
// (Dynamo: the worker with the smaller index). Returns every endpoint, best first, as fallbacks.
import type { Picker } from '../../plugin.ts';

export function maxScorePicker(tieBreak: 'random' | 'first' = 'random'): Picker {
  return {
    name: 'max-score',
    pick: (ctx, eps, scores) => {
      const order = eps.map((_, i) => ({ i, tie: tieBreak === 'random' ? ctx.random() : i }));
      order.sort((a, b) => scores[b.i]! - scores[a.i]! || a.tie - b.tie);
      return order.map((o) => eps[o.i]!);
    },
  };
}
