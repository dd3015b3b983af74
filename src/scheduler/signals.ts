// Reading an endpoint's signals: scraped metrics (ignored once stale) and the router's own
// in-flight accounting. Every scorer reads load through here so staleness is handled once.
import type { EndpointView } from './types.ts';

/** llm-d treats metrics older than 2 s as stale; stale metrics are as good as none. */
export const STALE_AFTER_SECONDS = 2;

export type Metrics = EndpointView['metrics'];

export function freshMetrics(endpoint: EndpointView, now: number, staleAfter = STALE_AFTER_SECONDS): Metrics {
  const m = endpoint.metrics;
  if (m.scrapedAt === undefined) return {};
  if (now - m.scrapedAt > staleAfter) return {};
  return m;
}

/** Whether the endpoint ever reported metrics but they are now too old to trust. */
export function metricsStale(endpoint: EndpointView, now: number, staleAfter = STALE_AFTER_SECONDS): boolean {
  const at = endpoint.metrics.scrapedAt;
  return at !== undefined && now - at > staleAfter;
}

/** Queue length the engine reports (waiting requests), 0 when unknown. */
export function waitingQueue(endpoint: EndpointView, now: number): number {
  return freshMetrics(endpoint, now).waiting ?? 0;
}

/** KV usage 0..1 the engine reports, 0 when unknown. */
export function kvUsage(endpoint: EndpointView, now: number): number {
  const u = freshMetrics(endpoint, now).kvUsage ?? 0;
  return Math.min(1, Math.max(0, u));
}

/**
 * Outstanding requests: the larger of what the router itself sent and has not seen finish and
 * what the engine last reported (other routers may feed the same engine).
 */
export function outstandingRequests(endpoint: EndpointView, now: number): number {
  const m = freshMetrics(endpoint, now);
  const reported = (m.waiting ?? 0) + (m.running ?? 0);
  return Math.max(endpoint.inflight.requests, reported);
}

/** Min-max normalisation where lower raw is better: best -> 1, worst -> 0, all equal -> 1. */
export function lowerIsBetter(values: number[]): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return values.map(() => 1);
  return values.map((v) => (max - v) / (max - min));
}

export function clamp01(x: number): number {
  if (!(x > 0)) return 0; // also maps NaN to 0
  return x > 1 ? 1 : x;
}

/**
 * A request's uncached prompt tokens join (`sign` 1, when it is sent) or leave (-1, at its first
 * token, or when it fails or is abandoned before one) the endpoint's pending prefill: the tokens and
 * the count of requests holding some. The gateway and the virtual cluster both keep them this way.
 */
export function addPendingPrefill(endpoint: EndpointView, tokens: number, sign: 1 | -1): void {
  if (!(tokens > 0)) return;
  const f = endpoint.inflight;
  f.pendingPrefillTokens = Math.max(0, (f.pendingPrefillTokens ?? 0) + sign * tokens);
  f.pendingPrefillRequests = Math.max(0, (f.pendingPrefillRequests ?? 0) + sign);
}
