// Undici-style interceptors for the gateway's upstream calls: each wraps a dispatch function and
// returns one with the same shape, so behaviours (failover, accounting) compose instead of
// living as flags in one loop. The only difference from undici's own: the target endpoint rides
// in the options, because failover changes it between attempts.
import type { Dispatcher } from 'undici';
import type { EndpointRuntime } from '../../engines/endpoint.ts';
import type { SchedulingRequest } from '../../scheduler/types.ts';
import type { PickEstimate } from '../pending-prefill.ts';

export interface GatewayDispatchOptions extends Omit<Dispatcher.DispatchOptions, 'origin'> {
  endpoint: EndpointRuntime;
  /** Endpoints to try next, in order, if this one fails before the first byte. */
  fallbacks: EndpointRuntime[];
  /** What the scheduler was asked, for accounting and its onComplete. */
  scheduling: SchedulingRequest;
  /** The scheduler's estimates for its pick (pending-prefill accounting, the TTFT prediction check). */
  cached?: PickEstimate | undefined;
  /** The prompt's KV arrives by transfer (decode leg of a disaggregated request): nothing to prefill. */
  kvTransferred?: boolean;
  /** Filled in by the interceptors for the caller: where the request ended up, and how many tries. */
  trace: { endpointId?: string; attempts: number };
}

export type GatewayDispatch = (opts: GatewayDispatchOptions, handler: Dispatcher.DispatchHandler) => void;
export type Interceptor = (next: GatewayDispatch) => GatewayDispatch;

/** compose(base, a, b) -> b(a(base)): the last interceptor sees the request first. */
export function compose(base: GatewayDispatch, ...interceptors: Interceptor[]): GatewayDispatch {
  return interceptors.reduce((dispatch, interceptor) => interceptor(dispatch), base);
}

/** The innermost dispatch: send to the endpoint's undici pool, with the engine's own key if it needs one. */
export const toEndpoint: GatewayDispatch = (opts, handler) => {
  const upstream = opts.endpoint.upstream;
  const auth = upstream.authHeader;
  const h = opts.headers;
  const headers = !auth ? h : Array.isArray(h) ? [...h, 'authorization', auth] : { ...(h as Record<string, string>), authorization: auth };
  upstream.dispatch({ path: opts.path, method: opts.method, headers, body: opts.body ?? null }, handler);
};

/** Thrown into an attempt the gateway abandons (client left, or failover moved on). */
export class AttemptAbandoned extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttemptAbandoned';
  }
}
