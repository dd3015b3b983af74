// Prefill/decode disaggregation (llm-d pd-profile-handler semantics): the decode endpoint is
// chosen first by the decode profile; then, only when the prompt tokens NOT already cached on that
// decode endpoint reach `threshold`, a prefill endpoint is chosen by the prefill profile. Below
// the threshold the decode endpoint prefills locally (a transfer would cost more than it saves).
import type { ProfileHandler, SchedulingContext, SchedulingProfile } from '../../plugin.ts';
import type { EndpointView } from '../../types.ts';

export interface PrefillDecodeOptions {
  decode: SchedulingProfile;
  prefill: SchedulingProfile;
  /** Uncached prompt tokens at or above which the prefill runs remotely (llm-d nonCachedTokens). */
  threshold: number;
  /** Prompt tokens already cached on an endpoint (from a prefix index); 0 when unknown. */
  cachedTokens: (ctx: SchedulingContext, endpoint: EndpointView) => number;
}

export function prefillDecodeHandler(o: PrefillDecodeOptions): ProfileHandler & { profiles: SchedulingProfile[] } {
  return {
    name: 'prefill-decode',
    profiles: [o.decode, o.prefill],
    handle: (ctx, run) => {
      const decode = run(o.decode, ctx, ctx.view.endpoints);
      const chosen = decode[0];
      if (!chosen) return { endpoints: [] };
      const uncached = ctx.request.promptTokens - o.cachedTokens(ctx, chosen);
      if (uncached < o.threshold) return { endpoints: decode };
      const prefill = run(o.prefill, ctx, ctx.view.endpoints.filter((e) => e.id !== chosen.id));
      return prefill.length > 0 ? { endpoints: decode, prefill } : { endpoints: decode };
    },
  };
}
