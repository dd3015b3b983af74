// SGLang model gateway's cache-aware policy (sgl-model-gateway cache_aware.rs) as one scorer:
//   if (maxLoad - minLoad) > balanceAbs AND maxLoad > balanceRel * minLoad -> shortest queue
//   else if best match rate > cacheThreshold                             -> longest prefix match
//   else                                                                 -> least loaded
// Load is the gateway's own in-flight count per worker. The radix tree is over the raw request
// (text characters, or token ids when there is no text) and learns from every routed request.
import { RadixTree, textUnits } from '../../../kv/radix-tree.ts';
import type { LearningHooks, Scorer, SchedulingContext } from '../../plugin.ts';
import { lowerIsBetter } from '../../signals.ts';

export interface SglangOptions {
  cacheThreshold: number; // 0.3
  balanceAbs: number; // 64
  balanceRel: number; // 1.5
  /** Tree budget per worker in units (SGLang: max_tree_size 2^26 characters). */
  maxTreeUnits: number;
}

export const SGLANG_DEFAULTS: SglangOptions = { cacheThreshold: 0.3, balanceAbs: 64, balanceRel: 1.5, maxTreeUnits: 2 ** 26 };

export function sglangCacheAwareScorer(o: SglangOptions = SGLANG_DEFAULTS): Scorer & LearningHooks {
  const tree = new RadixTree(o.maxTreeUnits);
  const memoKey = {};
  const unitsOf = (ctx: SchedulingContext): ArrayLike<number> => {
    if (!ctx.memo.has(memoKey)) {
      const r = ctx.request;
      ctx.memo.set(memoKey, r.promptText !== undefined ? textUnits(r.promptText) : (r.promptTokenIds ?? []));
    }
    return ctx.memo.get(memoKey) as ArrayLike<number>;
  };
  return {
    name: 'sglang-cache-aware',
    score: (ctx, eps) => {
      const loads = eps.map((e) => e.inflight.requests);
      const maxLoad = Math.max(...loads);
      const minLoad = Math.min(...loads);
      const byLoad = lowerIsBetter(loads);
      if (maxLoad - minLoad > o.balanceAbs && maxLoad > o.balanceRel * minLoad) return byLoad;
      const units = unitsOf(ctx);
      if (units.length === 0) return byLoad;
      const lengths = tree.matchLengths(units);
      const matched = eps.map((e) => lengths.get(e.id) ?? 0);
      const best = Math.max(...matched);
      if (best / units.length > o.cacheThreshold) return matched.map((m) => (m === best ? 1 : 0));
      return byLoad;
    },
    onScheduled: (ctx, decision) => {
      const units = unitsOf(ctx);
      const chosen = decision.endpoints[0];
      if (chosen && units.length > 0) tree.insert(units, chosen.id, ctx.now);
    },
  };
}
