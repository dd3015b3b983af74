// For picking a decode endpoint under disaggregation: fewest KV blocks promised (router-tracked
// prompt + output blocks of its in-flight requests). A decode endpoint's TTFT does not depend on a
// prefill queue it does not have; its memory and batch do.
import type { Scorer } from '../../plugin.ts';
import { lowerIsBetter } from '../../signals.ts';

export function decodeLoadScorer(): Scorer {
  return { name: 'decode-load', score: (_ctx, eps) => lowerIsBetter(eps.map((e) => e.inflight.predictedBlocks)) };
}
