// Session affinity (llm-d session-affinity-scorer): a request carrying an x-session-token scores 1
// on the endpoint that served the session last, 0 elsewhere. Remembers a bounded number of sessions.
import { LruMap } from '../../../kv/lru.ts';
import type { LearningHooks, Scorer } from '../../plugin.ts';

export function sessionAffinityScorer(maxSessions = 100_000): Scorer & LearningHooks {
  const lastEndpoint = new LruMap<string, string>(maxSessions);
  return {
    name: 'session-affinity',
    score: (ctx, eps) => {
      const token = ctx.request.sessionToken;
      const id = token === undefined ? undefined : lastEndpoint.get(token);
      return eps.map((e) => (id !== undefined && e.id === id ? 1 : 0));
    },
    onScheduled: (ctx, decision) => {
      const token = ctx.request.sessionToken;
      const chosen = decision.endpoints[0];
      if (token !== undefined && chosen) lastEndpoint.set(token, chosen.id);
    },
  };
}
