// The gateway's share of `inflight.pendingPrefillTokens` (prompt tokens routed to an endpoint that
// it has not finished prefilling) and `pendingPrefillRequests` (how many requests hold them).
// Filled the way the virtual cluster fills them (src/sim/cluster/cluster.ts), since the policies
// reading them are the same code live and simulated: a request adds its uncached prompt tokens
// (prompt minus the scheduler's cache estimate) when it is sent, and takes them back at its first
// token, or when it fails or is abandoned before one. A prefill leg holds its tokens until the
// prefill answer; the decode leg of a disaggregated request adds none (its KV arrives by transfer).
import { addPendingPrefill } from '../scheduler/signals.ts';
import type { EndpointView } from '../scheduler/types.ts';

/** The scheduler's estimates for its pick: the prompt tokens already cached there, and the TTFT it predicted. */
export interface PickEstimate {
  endpointId: string;
  tokens: number;
  /** Seconds from the decision to the first token, when the policy predicts in seconds (inferstack with a step-time model). */
  ttftSeconds?: number;
}

/**
 * Tokens `endpointId` must prefill for a prompt of `promptTokens`: the uncached part on the
 * endpoint the estimate is about, the whole prompt on any other (a failover target nobody
 * estimated), nothing when the KV is transferred in.
 */
export function uncachedTokens(endpointId: string, promptTokens: number, cached: PickEstimate | undefined, kvTransferred = false): number {
  if (kvTransferred) return 0;
  const hit = cached && cached.endpointId === endpointId ? cached.tokens : 0;
  return Math.max(0, promptTokens - hit);
}

/** The pending view fields of an endpoint, starting at 0 (EndpointRuntime leaves them unset). */
export function initPendingPrefill(view: EndpointView): void {
  view.inflight.pendingPrefillTokens ??= 0;
  view.inflight.pendingPrefillRequests ??= 0;
}

/** One request's pending prefill on one endpoint: added now, taken back once by `settle()`. */
export class PendingPrefill {
  private view: EndpointView | undefined;
  private readonly tokens: number;

  constructor(view: EndpointView, tokens: number) {
    this.tokens = tokens;
    if (tokens <= 0) return;
    this.view = view;
    addPendingPrefill(view, tokens, 1);
  }

  /** First token, failure or abandonment: whichever comes first counts, later calls do nothing. */
  settle(): void {
    const v = this.view;
    if (!v) return;
    this.view = undefined;
    addPendingPrefill(v, this.tokens, -1);
  }
}
