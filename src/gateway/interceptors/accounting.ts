// Per-attempt bookkeeping around one endpoint: in-flight accounting for the cluster view (requests,
// tokens, blocks, and prompt tokens pending prefill until the first response byte), passive
// health for the circuit breaker (5xx, connect errors and timeouts count as failures; a request
// the gateway abandoned does not), routing and error metrics, and the scheduler's onComplete.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { EndpointRuntime } from '../../engines/endpoint.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE } from '../../scheduler/prefix-match.ts';
import type { SchedulingRequest } from '../../scheduler/types.ts';
import type { CounterSeries } from '../hot-metrics.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { PendingPrefill, uncachedTokens } from '../pending-prefill.ts';
import { AttemptAbandoned, type GatewayDispatchOptions, type Interceptor } from './types.ts';

export interface AccountingHooks {
  metrics: GatewayMetrics;
  poolName: string;
  /** Called once per attempt when it ends, with the endpoint it ran on. */
  onAttemptEnd(endpointId: string, opts: { scheduling: SchedulingRequest }): void;
}

/** vLLM's default block size, used until the engine's own is scraped. */

export function errorKind(err: Error): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'idle_timeout';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection';
  return 'other';
}

export function accounting(hooks: AccountingHooks): Interceptor {
  // Routing counter per endpoint of this pool, looked up once (bounded by the pool's endpoints).
  const routed = new Map<EndpointRuntime, CounterSeries>();
  const routedSeries = (e: EndpointRuntime) => {
    let s = routed.get(e);
    if (!s) routed.set(e, (s = hooks.metrics.routedSeries(hooks.poolName, e.id, e.view.role ?? 'both')));
    return s;
  };
  return (next) => (opts, handler) => {
    routedSeries(opts.endpoint).inc();
    next(opts, new AccountedAttempt(hooks, opts, handler));
  };
}

/** One attempt's bookkeeping, wrapped around the handler of the layer above. */
class AccountedAttempt implements Dispatcher.DispatchHandler {
  private readonly hooks: AccountingHooks;
  private readonly opts: GatewayDispatchOptions;
  private readonly handler: Dispatcher.DispatchHandler;
  private readonly endpoint: EndpointRuntime;
  private readonly predictedBlocks: number;
  private readonly pendingPrefill: PendingPrefill;
  private status = 0;
  private done = false;
  /** The TTFT the scheduler predicted on this endpoint, and when the attempt was sent; cleared once checked. */
  private predictedTtft: number | undefined;
  private readonly sentAt = performance.now();

  constructor(hooks: AccountingHooks, opts: GatewayDispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.hooks = hooks;
    this.opts = opts;
    this.handler = handler;
    const { endpoint, scheduling } = opts;
    this.endpoint = endpoint;
    opts.trace.endpointId = endpoint.id;
    opts.trace.attempts++;
    // KV blocks the request will hold at its longest: prompt plus the output it may generate.
    const blockSize = endpoint.view.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE;
    this.predictedBlocks = Math.ceil((scheduling.promptTokens + (scheduling.maxTokens ?? 0)) / blockSize);
    endpoint.begin(scheduling.promptTokens, this.predictedBlocks);
    this.pendingPrefill = new PendingPrefill(endpoint.view, uncachedTokens(endpoint.id, scheduling.promptTokens, opts.cached, opts.kvTransferred));
    // Only for the endpoint predicted for (not a failover target); a disaggregated decision predicts none.
    if (opts.cached?.endpointId === endpoint.id) this.predictedTtft = opts.cached.ttftSeconds;
  }

  // ok: true/false feeds the breaker; undefined (abandoned by the gateway) says nothing.
  private finish(ok: boolean | undefined, kind?: string): void {
    if (this.done) return;
    this.done = true;
    const endpoint = this.endpoint;
    endpoint.end(this.opts.scheduling.promptTokens, this.predictedBlocks);
    this.pendingPrefill.settle();
    if (kind) this.hooks.metrics.upstreamErrors.labels(endpoint.id, kind).inc();
    if (ok !== undefined) endpoint.recordOutcome(ok);
    this.hooks.onAttemptEnd(endpoint.id, this.opts);
  }

  onRequestStart(c: Dispatcher.DispatchController, ctx: unknown): void {
    this.handler.onRequestStart?.(c, ctx);
  }

  onResponseStart(c: Dispatcher.DispatchController, code: number, headers: IncomingHttpHeaders, message: string): void {
    this.status = code;
    // Only a stream's first bytes are its first token; a JSON answer's come at the end.
    if (code !== 200 || !String(headers['content-type'] ?? '').startsWith('text/event-stream')) this.predictedTtft = undefined;
    this.handler.onResponseStart?.(c, code, headers, message);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    // The engine's first bytes come with the first token (vLLM streams nothing before it; a JSON
    // answer comes at the end): the prompt is prefilled.
    this.pendingPrefill.settle();
    if (this.predictedTtft !== undefined) {
      this.hooks.metrics.ttftPrediction.seriesFor(this.hooks.poolName).observe((performance.now() - this.sentAt) / 1000 / this.predictedTtft);
      this.predictedTtft = undefined;
    }
    this.handler.onResponseData?.(c, chunk);
  }

  onResponseEnd(c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const status = this.status;
    this.finish(status < 500, status >= 500 ? `http_${status}` : undefined);
    this.handler.onResponseEnd?.(c, trailers);
  }

  onResponseError(c: Dispatcher.DispatchController, err: Error): void {
    if (!(err instanceof AttemptAbandoned)) this.finish(false, errorKind(err));
    else if (this.status >= 500) this.finish(false, `http_${this.status}`); // failover moved on from a 5xx
    else this.finish(undefined);
    this.handler.onResponseError?.(c, err);
  }
}
