// llm-d queue-scorer: (maxQ - q) / (maxQ - minQ) over the engines' reported waiting queues;
// all equal -> 1.
import type { Scorer } from '../../plugin.ts';
import { lowerIsBetter, waitingQueue } from '../../signals.ts';

export function queueScorer(): Scorer {
  return { name: 'queue', score: (ctx, eps) => lowerIsBetter(eps.map((e) => waitingQueue(e, ctx.now))) };
}
