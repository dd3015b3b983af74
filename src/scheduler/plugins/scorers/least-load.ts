// Fewest outstanding requests wins (router in-flight count or engine-reported, whichever is larger).
import type { Scorer } from '../../plugin.ts';
import { lowerIsBetter, outstandingRequests } from '../../signals.ts';

export function leastLoadScorer(): Scorer {
  return { name: 'least-load', score: (ctx, eps) => lowerIsBetter(eps.map((e) => outstandingRequests(e, ctx.now))) };
}
