// LoRA affinity: a request for an adapter goes where the adapter can run without waiting for an
// adapter slot. vLLM batches at most --max-loras adapters at once (reported, with the adapters
// running and waiting, in vllm:lora_requests_info): an engine that has the adapter active, or a
// free slot to load it, starts the request; one whose slots all hold other adapters makes it wait
// for one of them to drain. So, among the endpoints that advertise the adapter (as a served model
// name; all of them when none does, as the engine may load it on demand), those with the adapter
// active or a free slot are kept, when there are any. Keeping both kinds, not only the endpoints
// already running it, is what stops one hot adapter from piling onto a single engine; which of
// them wins is the scorers' call.
import type { Filter } from '../../plugin.ts';
import { freshMetrics } from '../../signals.ts';
import type { EndpointView } from '../../types.ts';

export function loraAffinityFilter(): Filter {
  return {
    name: 'lora-affinity',
    filter: (ctx, eps) => {
      const lora = ctx.request.lora;
      if (!lora) return eps;
      const withAdapter = eps.filter((e) => e.model.includes(lora));
      const candidates = withAdapter.length > 0 ? withAdapter : eps;
      const canRun = candidates.filter((e) => canRunWithoutSwap(e, lora, ctx.now));
      return canRun.length > 0 ? canRun : candidates;
    },
  };
}

/** True unless fresh metrics say every adapter slot holds another adapter (unknown counts as free). */
function canRunWithoutSwap(e: EndpointView, lora: string, now: number): boolean {
  const state = freshMetrics(e, now).lora;
  if (!state) return true;
  return state.active.includes(lora) || state.active.length < state.max;
}
