// createScheduler(policyName, options): the one entry point the gateway and the virtual cluster use.
import { createPipeline } from './pipeline.ts';
import { prefillDecodeHandler } from './plugins/profiles/prefill-decode.ts';
import { singleProfileHandler } from './plugins/profiles/single.ts';
import { leastLoadPolicy } from './policies/least-load.ts';
import type { Policy, PolicyDeps } from './policies/policy.ts';
import { roundRobinPolicy } from './policies/round-robin.ts';
import { llmdPolicy } from './policies/llm-d.ts';
import { llmdPrecisePolicy } from './policies/llm-d-precise.ts';
import { dynamoPolicy } from './policies/dynamo.ts';
import { sglangPolicy } from './policies/sglang.ts';
import { inferstackPolicy } from './policies/inferstack.ts';
import type { ApproximateIndex } from '../kv/approximate-index.ts';
import type { PreciseIndex } from '../kv/precise-index.ts';
import type { StepTimeModel } from '../physics/types.ts';
import { seededRandom, type Random } from '../util/seeded-random.ts';
import { DEFAULT_SATURATION, type SaturationThresholds } from './saturation.ts';
import type { Scheduler } from './types.ts';

export type { Scheduler } from './types.ts';

export interface SchedulerOptions {
  /** Seed for tie-breaks and sampling (default 1); ignored when `random` is given. */
  seed?: number;
  random?: Random;
  /** Admission thresholds; null disables shedding. Default: queue 5, KV full (saturation.ts). */
  saturation?: SaturationThresholds | null;
  /** Enable prefill/decode disaggregation: prefill remotely when uncached tokens >= threshold. */
  pd?: { threshold: number };
  /** Event-fed index shared with the KV event subscribers (precise policies); a private one otherwise. */
  preciseIndex?: PreciseIndex;
  /** Decision-fed index (approximate policies); a private one otherwise. */
  approximateIndex?: ApproximateIndex;
  /** The engines' step-time model, for policies that predict TTFT. */
  stepTime?: StepTimeModel;
}

/** Default P/D threshold in uncached prompt tokens (llm-d's nonCachedTokens example). */
export const DEFAULT_PD_THRESHOLD = 16;

const policies: Record<string, (deps: PolicyDeps, options: SchedulerOptions) => Policy> = {
  'round-robin': () => roundRobinPolicy(),
  'least-load': () => leastLoadPolicy(),
  'llm-d': (_d, o) => llmdPolicy(o.approximateIndex),
  'llm-d-precise': (_d, o) => llmdPrecisePolicy(o.preciseIndex),
  dynamo: (_d, o) => dynamoPolicy(o.preciseIndex),
  sglang: () => sglangPolicy(),
  inferstack: (_d, o) => inferstackPolicy(o),
};

/** Policies whose prefix knowledge comes only from the engines' KV events (the others learn from their own decisions without them). */
export const EVENT_FED_POLICIES: readonly string[] = ['llm-d-precise', 'dynamo'];

export function policyNames(): string[] {
  return Object.keys(policies);
}

export function createScheduler(policyName = 'inferstack', options: SchedulerOptions = {}): Scheduler {
  const factory = policies[policyName];
  if (!factory) throw new Error(`unknown scheduling policy '${policyName}' (known: ${policyNames().join(', ')})`);
  const random = options.random ?? seededRandom(options.seed ?? 1);
  const policy = factory({ random }, options);
  const handler = options.pd
    ? prefillDecodeHandler({
        decode: policy.profile('decode'),
        prefill: policy.profile('prefill'),
        threshold: options.pd.threshold,
        cachedTokens: (ctx, ep) => policy.cachedTokens?.(ctx, ep) ?? 0,
      })
    : singleProfileHandler(policy.profile('default'));
  return createPipeline({
    name: policyName,
    handler,
    random,
    saturation: options.saturation === undefined ? DEFAULT_SATURATION : options.saturation,
    extraHooks: policy.hooks ?? [],
    cachedTokens: policy.cachedTokens?.bind(policy),
    predictedTtftSeconds: policy.predictedTtftSeconds?.bind(policy),
  });
}
