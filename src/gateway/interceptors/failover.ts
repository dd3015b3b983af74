// Failover before the first byte: when an attempt fails (connect error, timeout, or a status that
// says "this engine cannot take it now") and nothing has reached the client yet, try the next
// endpoint in the scheduler's fallback order, at most `maxRetries` times. After the first byte the
// error goes to the client handler, which ends the stream with an error event.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { AttemptAbandoned, type GatewayDispatch, type GatewayDispatchOptions, type Interceptor } from './types.ts';

/** Statuses worth another endpoint: the engine is overloaded, failing or timing out. */
export const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * The controller the client-side handler holds. It outlives attempts: pause, resume and abort
 * apply to whichever attempt is current, and an abort before an attempt starts is replayed on it.
 */
export class ForwardingController implements Dispatcher.DispatchController {
  private current: Dispatcher.DispatchController | undefined;
  private reasonValue: Error | null = null;
  private pausedValue = false;

  get aborted(): boolean {
    return this.reasonValue !== null;
  }
  get paused(): boolean {
    return this.pausedValue;
  }
  get reason(): Error | null {
    return this.reasonValue;
  }

  attach(controller: Dispatcher.DispatchController): void {
    this.current = controller;
    if (this.reasonValue) controller.abort(this.reasonValue);
    else if (this.pausedValue) controller.pause();
  }

  abort(reason: Error): void {
    if (this.reasonValue) return;
    this.reasonValue = reason;
    this.current?.abort(reason);
  }
  pause(): void {
    this.pausedValue = true;
    this.current?.pause();
  }
  resume(): void {
    this.pausedValue = false;
    this.current?.resume();
  }
}

export interface FailoverOptions {
  maxRetries: number;
  /** Told before each retry (metrics, logs). */
  onRetry?(from: string, to: string, why: string): void;
}

export function failover(options: FailoverOptions): Interceptor {
  return (next) => (opts, handler) => new FailoverRequest(next, opts, handler, options).start();
}

/** One client request across its attempts. Classes rather than closures: a few objects per request. */
class FailoverRequest {
  readonly controller = new ForwardingController();
  readonly handler: Dispatcher.DispatchHandler;
  /** The attempt whose callbacks still count; earlier ones were abandoned. */
  current: FailoverAttempt | undefined;
  /** Set once a response started reaching the client: no more retries. */
  committed = false;
  private readonly next: GatewayDispatch;
  private readonly opts: GatewayDispatchOptions;
  private readonly options: FailoverOptions;
  private readonly remaining: GatewayDispatchOptions['fallbacks'];

  constructor(next: GatewayDispatch, opts: GatewayDispatchOptions, handler: Dispatcher.DispatchHandler, options: FailoverOptions) {
    this.next = next;
    this.opts = opts;
    this.handler = handler;
    this.options = options;
    this.remaining = opts.fallbacks.slice(0, options.maxRetries);
  }

  start(): void {
    this.handler.onRequestStart?.(this.controller, {});
    this.run(this.opts.endpoint);
  }

  private run(endpoint: GatewayDispatchOptions['endpoint']): void {
    this.current = new FailoverAttempt(this, endpoint);
    this.next({ ...this.opts, endpoint, fallbacks: this.remaining }, this.current);
  }

  /** Whether one more endpoint may be tried now. */
  canRetry(): boolean {
    return !this.committed && !this.controller.aborted && this.remaining.length > 0;
  }

  /** Moves to the next endpoint; false when none is left (or a retry is no longer allowed). */
  retry(from: string, why: string): boolean {
    if (!this.canRetry()) return false;
    const to = this.remaining.shift()!;
    this.options.onRetry?.(from, to.id, why);
    this.run(to);
    return true;
  }
}

class FailoverAttempt implements Dispatcher.DispatchHandler {
  private readonly request: FailoverRequest;
  private readonly endpointId: string;
  private abandoned = false; // set when failover leaves this attempt; its late callbacks are ignored

  constructor(request: FailoverRequest, endpoint: GatewayDispatchOptions['endpoint']) {
    this.request = request;
    this.endpointId = endpoint.id;
  }

  private get live(): boolean {
    return this.request.current === this && !this.abandoned;
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    if (this.live) this.request.controller.attach(c);
  }

  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, message: string): void {
    if (!this.live) return;
    const r = this.request;
    if (RETRYABLE_STATUS.has(status) && r.canRetry()) {
      this.abandoned = true;
      c.abort(new AttemptAbandoned(`HTTP ${status}, trying another endpoint`));
      r.retry(this.endpointId, `HTTP ${status}`);
      return;
    }
    r.committed = true;
    r.handler.onResponseStart?.(r.controller, status, headers, message);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.live) this.request.handler.onResponseData?.(this.request.controller, chunk);
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.live) this.request.handler.onResponseEnd?.(this.request.controller, trailers);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (!this.live) return;
    if (!(err instanceof AttemptAbandoned) && this.request.retry(this.endpointId, err.message)) return;
    this.request.handler.onResponseError?.(this.request.controller, err);
  }
}
