// The plugin contracts of the scheduling pipeline (modelled on the llm-d Router):
//   profile handler -> per profile: filters -> weighted scorers -> picker.
// Every plugin is small, named and pure; state that learns (prefix indexes, round-robin cursor)
// lives inside the plugin and changes only through the hooks below.
import type { Random } from '../util/seeded-random.ts';
import type { ClusterView, EndpointView, SchedulingDecision, SchedulingRequest } from './types.ts';

/** What one scheduling call knows; shared by every plugin that runs for it. */
export interface SchedulingContext {
  request: SchedulingRequest;
  view: ClusterView;
  now: number; // seconds on the caller's clock
  random: Random;
  /** Per-call memo so two plugins needing the same prefix match compute it once. */
  memo: Map<unknown, unknown>;
}

export interface Filter {
  readonly name: string;
  filter(ctx: SchedulingContext, endpoints: EndpointView[]): EndpointView[];
}

export interface Scorer {
  readonly name: string;
  /** One score per endpoint, each in [0, 1]; higher is better. */
  score(ctx: SchedulingContext, endpoints: EndpointView[]): number[];
}

export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

export interface Picker {
  readonly name: string;
  /** Ordered: first is the pick, the rest are fallbacks. `scores` are the weighted totals. */
  pick(ctx: SchedulingContext, endpoints: EndpointView[], scores: number[]): EndpointView[];
}

/** Filters, scorers and a picker: one way of choosing among endpoints (e.g. 'decode', 'prefill'). */
export interface SchedulingProfile {
  readonly name: string;
  filters: Filter[];
  scorers: WeightedScorer[];
  picker: Picker;
}

/** Runs one profile over a candidate list and returns the ordered picks. */
export type RunProfile = (profile: SchedulingProfile, ctx: SchedulingContext, candidates: EndpointView[]) => EndpointView[];

/** Decides which profiles run and how their picks become a decision (single, or prefill/decode). */
export interface ProfileHandler {
  readonly name: string;
  handle(ctx: SchedulingContext, run: RunProfile): SchedulingDecision;
}

/**
 * Optional hooks, for plugins that learn. Any filter, scorer, picker or profile handler may
 * implement them; the pipeline calls every plugin it holds.
 */
export interface LearningHooks {
  /** After a decision with at least one endpoint: the request will run on `decision.endpoints[0]`. */
  onScheduled?(ctx: SchedulingContext, decision: SchedulingDecision): void;
  onComplete?(request: SchedulingRequest, endpointId: string, now: number): void;
}
