// Saturation detection (llm-d utilization detector): an endpoint is saturated when its waiting
// queue reaches `queueDepth` or its KV usage reaches `kvUsage`, or when it once reported metrics
// that are now stale (an engine that stopped answering scrapes is not safe to pile onto).
// When every candidate is saturated the scheduler rejects with 'saturated' (HTTP 429).
import { freshMetrics, metricsStale } from './signals.ts';
import type { EndpointView } from './types.ts';

export interface SaturationThresholds {
  queueDepth: number;
  kvUsage: number;
}

/**
 * llm-d's detector defaults to KV 0.8. Behind a gateway that queues saturated requests (ours does),
 * that gate holds requests while the engines still have a fifth of their KV free, and a policy that
 * balances well hits it on every endpoint at once: on the held-out traces in the simulator it cost
 * every policy capacity (docs/routing-history.md, session 7). An engine that truly has no room shows it in its waiting
 * queue, so by default only a full cache counts; `kvUsage` in the pool's config sets llm-d's 0.8.
 */
export const DEFAULT_SATURATION: SaturationThresholds = { queueDepth: 5, kvUsage: 1 };

export function isSaturated(endpoint: EndpointView, now: number, t: SaturationThresholds): boolean {
  if (metricsStale(endpoint, now)) return true;
  const m = freshMetrics(endpoint, now);
  // Requests this router sent since the engine last reported are waiting there too, as far as
  // anyone knows until the next scrape.
  const unreported = Math.max(0, endpoint.inflight.requests - (m.waiting ?? 0) - (m.running ?? 0));
  return (m.waiting ?? 0) + unreported >= t.queueDepth || (m.kvUsage ?? 0) >= t.kvUsage;
}
