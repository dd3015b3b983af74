// One profile over every endpoint: the aggregated (non-disaggregated) case.
import type { ProfileHandler, SchedulingProfile } from '../../plugin.ts';

export function singleProfileHandler(profile: SchedulingProfile): ProfileHandler & { profiles: SchedulingProfile[] } {
  return {
    name: 'single',
    profiles: [profile],
    handle: (ctx, run) => ({ endpoints: run(profile, ctx, ctx.view.endpoints) }),
  };
}
