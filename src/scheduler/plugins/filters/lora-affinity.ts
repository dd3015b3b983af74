// LoRA affinity: when the request names an adapter, prefer endpoints that advertise it (as a
// served model name), so adapters are not loaded everywhere. Falls back to all endpoints when
// none advertises it (the engine may load it on demand).
import type { Filter } from '../../plugin.ts';

export function loraAffinityFilter(): Filter {
  return {
    name: 'lora-affinity',
    filter: (ctx, eps) => {
      const lora = ctx.request.lora;
      if (!lora) return eps;
      const withAdapter = eps.filter((e) => e.model.includes(lora));
      return withAdapter.length > 0 ? withAdapter : eps;
    },
  };
}
