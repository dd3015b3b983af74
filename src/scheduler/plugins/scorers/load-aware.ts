// llm-d load-aware-scorer: an empty queue scores 0.5, otherwise 0.5 * (1 - min(w, 128) / 128).
import type { Scorer } from '../../plugin.ts';
import { waitingQueue } from '../../signals.ts';

const QUEUE_THRESHOLD = 128;

export function loadAwareScorer(): Scorer {
  return {
    name: 'load-aware',
    score: (ctx, eps) =>
      eps.map((e) => {
        const w = waitingQueue(e, ctx.now);
        return w === 0 ? 0.5 : 0.5 * (1 - Math.min(w, QUEUE_THRESHOLD) / QUEUE_THRESHOLD);
      }),
  };
}
