// Per-attempt bookkeeping around one endpoint: in-flight accounting for the cluster view, passive
// health for the circuit breaker (5xx, connect errors and timeouts count as failures; a request
// the gateway abandoned does not), routing and error metrics, and the scheduler's onComplete.
import type { Dispatcher } from 'undici';
import type { SchedulingRequest } from '../../scheduler/types.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { AttemptAbandoned, type Interceptor } from './types.ts';

export interface AccountingHooks {
  metrics: GatewayMetrics;
  poolName: string;
  /** Called once per attempt when it ends, with the endpoint it ran on. */
  onAttemptEnd(endpointId: string, opts: { scheduling: SchedulingRequest }): void;
}

/** vLLM's default block size, used until the engine's own is scraped. */
const DEFAULT_BLOCK_SIZE = 16;

export function errorKind(err: Error): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'idle_timeout';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection';
  return 'other';
}

export function accounting(hooks: AccountingHooks): Interceptor {
  return (next) => (opts, handler) => {
    const { endpoint, scheduling } = opts;
    opts.trace.endpointId = endpoint.id;
    opts.trace.attempts++;
    // KV blocks the request will hold at its longest: prompt plus the output it may generate.
    const blockSize = endpoint.view.metrics.blockSize ?? DEFAULT_BLOCK_SIZE;
    const predictedBlocks = Math.ceil((scheduling.promptTokens + (scheduling.maxTokens ?? 0)) / blockSize);
    endpoint.begin(scheduling.promptTokens, predictedBlocks);
    hooks.metrics.countRouted(hooks.poolName, endpoint.id, endpoint.view.role ?? 'both');
    let done = false;
    let status = 0;
    // ok: true/false feeds the breaker; undefined (abandoned by the gateway) says nothing.
    const finish = (ok: boolean | undefined, kind?: string) => {
      if (done) return;
      done = true;
      endpoint.end(scheduling.promptTokens, predictedBlocks);
      if (kind) hooks.metrics.upstreamErrors.labels(endpoint.id, kind).inc();
      if (ok !== undefined) endpoint.recordOutcome(ok);
      hooks.onAttemptEnd(endpoint.id, opts);
    };
    const wrapped: Dispatcher.DispatchHandler = {
      onRequestStart: (c, ctx) => handler.onRequestStart?.(c, ctx),
      onResponseStart: (c, code, headers, msg) => {
        status = code;
        handler.onResponseStart?.(c, code, headers, msg);
      },
      onResponseData: (c, chunk) => handler.onResponseData?.(c, chunk),
      onResponseEnd: (c, trailers) => {
        finish(status < 500, status >= 500 ? `http_${status}` : undefined);
        handler.onResponseEnd?.(c, trailers);
      },
      onResponseError: (c, err) => {
        if (!(err instanceof AttemptAbandoned)) finish(false, errorKind(err));
        else if (status >= 500) finish(false, `http_${status}`); // failover moved on from a 5xx
        else finish(undefined);
        handler.onResponseError?.(c, err);
      },
    };
    next(opts, wrapped);
  };
}
