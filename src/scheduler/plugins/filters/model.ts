// Keeps endpoints that serve the requested model. An endpoint listing no models accepts any
// (an upstream whose model list is not known yet).
import type { Filter } from '../../plugin.ts';

export function modelFilter(): Filter {
  return {
    name: 'model',
    filter: (ctx, eps) => eps.filter((e) => e.model.length === 0 || e.model.includes(ctx.request.model)),
  };
}
