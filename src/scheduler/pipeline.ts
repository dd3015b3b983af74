// The scheduling pipeline: runs a profile handler over the cluster view, applies admission
// (saturation) and tells learning plugins what was decided. Pure: no I/O, no clock, no timers.
import type { LearningHooks, ProfileHandler, RunProfile, SchedulingContext, SchedulingProfile } from './plugin.ts';
import type { Random } from '../util/seeded-random.ts';
import { isSaturated, type SaturationThresholds } from './saturation.ts';
import { clamp01 } from './signals.ts';
import type { ClusterView, EndpointView, Scheduler, SchedulingDecision, SchedulingRequest } from './types.ts';

export interface PipelineConfig {
  name: string;
  handler: ProfileHandler & { profiles: SchedulingProfile[] };
  random: Random;
  /** Shed with 'saturated' when every healthy endpoint serving the model is over these; null disables. */
  saturation: SaturationThresholds | null;
  /** Extra learning plugins that are not part of a profile (e.g. a shared prefix index). */
  extraHooks?: LearningHooks[];
  /** The policy's cached-prompt estimate, reported on the decision for in-flight accounting. */
  cachedTokens?: (ctx: SchedulingContext, endpoint: EndpointView) => number;
  /** The policy's TTFT prediction, reported on aggregated decisions so it can be checked. */
  predictedTtftSeconds?: (ctx: SchedulingContext, endpoint: EndpointView) => number | undefined;
}

export const runProfile: RunProfile = (profile, ctx, candidates) => {
  let eps = candidates;
  for (const f of profile.filters) {
    eps = f.filter(ctx, eps);
    if (eps.length === 0) return [];
  }
  const totals = new Array<number>(eps.length).fill(0);
  for (const { scorer, weight } of profile.scorers) {
    const s = scorer.score(ctx, eps);
    for (let i = 0; i < eps.length; i++) totals[i]! += weight * clamp01(s[i]!);
  }
  return profile.picker.pick(ctx, eps, totals);
};

function hooksOf(config: PipelineConfig): LearningHooks[] {
  const all = new Set<object>([config.handler, ...(config.extraHooks ?? [])]);
  for (const p of config.handler.profiles) {
    for (const f of p.filters) all.add(f);
    for (const s of p.scorers) all.add(s.scorer);
    all.add(p.picker);
  }
  return [...all].filter((h): h is LearningHooks => 'onScheduled' in h || 'onComplete' in h);
}

export function createPipeline(config: PipelineConfig): Scheduler {
  const hooks = hooksOf(config);
  return {
    name: config.name,
    schedule(request: SchedulingRequest, view: ClusterView, now: number): SchedulingDecision {
      const ctx: SchedulingContext = { request, view, now, random: config.random, memo: new Map() };
      const serving = view.endpoints.filter(
        (e) => e.healthy && (e.model.length === 0 || e.model.includes(request.model)),
      );
      if (serving.length === 0) return { endpoints: [], reject: 'no-healthy' };
      const t = config.saturation;
      if (t && serving.every((e: EndpointView) => isSaturated(e, now, t))) return { endpoints: [], reject: 'saturated' };
      const decision = config.handler.handle(ctx, runProfile);
      if (decision.endpoints.length === 0) return { endpoints: [], reject: decision.reject ?? 'no-healthy' };
      if (config.cachedTokens && decision.predictedCachedTokens === undefined) {
        // With a remote prefill, the prompt's KV arrives by transfer: what counts is the prefill side.
        const filled = decision.prefill?.[0] ?? decision.endpoints[0]!;
        decision.predictedCachedTokens = config.cachedTokens(ctx, filled);
      }
      if (config.predictedTtftSeconds && !decision.prefill) decision.predictedTtftSeconds = config.predictedTtftSeconds(ctx, decision.endpoints[0]!);
      for (const h of hooks) h.onScheduled?.(ctx, decision);
      return decision;
    },
    onComplete(request: SchedulingRequest, endpointId: string, now: number): void {
      for (const h of hooks) h.onComplete?.(request, endpointId, now);
    },
  };
}
