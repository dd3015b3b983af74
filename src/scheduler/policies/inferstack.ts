// inferstack, our default: send each request where it will get its first token soonest, as
// predicted by the physics step-time model from the endpoint's promised prefill work, this
// request's uncached prompt there (the cache hit is worth exactly the prefill it saves) and KV
// pressure. Prefix knowledge comes from the engines' KV events (precise index, speculative entries
// between decision and event) when there are events and the router has token ids, else from its
// own decisions.
import { ApproximateIndex } from '../../kv/approximate-index.ts';
import type { PreciseIndex } from '../../kv/precise-index.ts';
import type { StepTimeModel } from '../../physics/types.ts';
import type { SchedulingContext } from '../plugin.ts';
import { maxScorePicker } from '../plugins/pickers/max-score.ts';
import { decodeLoadScorer } from '../plugins/scorers/decode-load.ts';
import { predictedTtftScorer } from '../plugins/scorers/predicted-ttft.ts';
import { sessionAffinityScorer } from '../plugins/scorers/session-affinity.ts';
import { approximateMatcher, preciseMatcher, type PrefixMatcher } from '../prefix-match.ts';
import { TtftPredictor } from '../ttft-predictor.ts';
import type { EndpointView, SchedulingDecision } from '../types.ts';
import { baseFilters, type Policy } from './policy.ts';

export interface InferstackDeps {
  preciseIndex?: PreciseIndex;
  approximateIndex?: ApproximateIndex;
  stepTime?: StepTimeModel;
}

/** Precise matching when the request carries token ids, approximate (text) otherwise; the one used learns. */
function hybridMatcher(precise: PrefixMatcher, approx: PrefixMatcher): PrefixMatcher {
  const pick = (ctx: SchedulingContext) => (ctx.request.promptTokenIds ? precise : approx);
  return {
    kind: 'precise',
    match: (ctx, eps) => pick(ctx).match(ctx, eps),
    cachedTokens: (ctx, ep) => pick(ctx).cachedTokens(ctx, ep),
    record: (ctx, d: SchedulingDecision) => pick(ctx).record(ctx, d),
  };
}

export function inferstackPolicy(deps: InferstackDeps = {}): Policy {
  const capacities = new Map<string, number>();
  const approx = approximateMatcher(deps.approximateIndex ?? new ApproximateIndex({ capacityFor: (id) => capacities.get(id) }), capacities);
  // Precise only where engines' KV events feed the index: one holding nothing but its own speculative
  // entries would forget every prompt once they expire (2 s), where the approximate index keeps it.
  const matcher = deps.preciseIndex ? hybridMatcher(preciseMatcher(deps.preciseIndex), approx) : approx;

  const predictor = new TtftPredictor(deps.stepTime);
  const ttft = predictedTtftScorer(matcher, predictor);
  const scorers = [
    { scorer: ttft, weight: 1 },
    // A session's own earlier turns are usually cached already; this only breaks near-ties.
    { scorer: sessionAffinityScorer(), weight: 0.05 },
  ];

  // Disaggregated: the decode side is chosen by its memory load (the prompt's KV arrives by transfer).
  const decodeScorers = [{ scorer: decodeLoadScorer(), weight: 1 }, ...scorers.slice(1)];
  const picker = maxScorePicker('random');
  return {
    profile: (role) => ({ name: role, filters: baseFilters(role), scorers: role === 'decode' ? decodeScorers : scorers, picker }),
    cachedTokens: (ctx: SchedulingContext, ep: EndpointView) => matcher.cachedTokens(ctx, ep),
    predictedTtftSeconds: (ctx: SchedulingContext, ep: EndpointView) => ttft.predicted(ctx, ep.id),
  };
}
