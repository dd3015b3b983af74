// llm-d kv-cache-utilization-scorer: 1 - KV usage.
import type { Scorer } from '../../plugin.ts';
import { kvUsage } from '../../signals.ts';

export function kvUtilizationScorer(): Scorer {
  return { name: 'kv-utilization', score: (ctx, eps) => eps.map((e) => 1 - kvUsage(e, ctx.now)) };
}
