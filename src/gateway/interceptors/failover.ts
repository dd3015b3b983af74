// Failover before the first byte: when an attempt fails (connect error, timeout, or a status that
// says "this engine cannot take it now") and nothing has reached the client yet, try the next
// endpoint in the scheduler's fallback order, at most `maxRetries` times. After the first byte the
// error goes to the client handler, which ends the stream with an error event.
import type { Dispatcher } from 'undici';
import { AttemptAbandoned, type Interceptor } from './types.ts';

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
  return (next) => (opts, handler) => {
    const controller = new ForwardingController();
    const remaining = opts.fallbacks.slice(0, options.maxRetries);
    let attempt = 0;
    let committed = false;
    handler.onRequestStart?.(controller, {});

    const run = (endpoint: typeof opts.endpoint): void => {
      const mine = ++attempt;
      let abandoned = false; // set when failover leaves this attempt; its late callbacks are ignored
      const current = () => mine === attempt && !abandoned;
      const retry = (why: string): boolean => {
        if (committed || controller.aborted || remaining.length === 0) return false;
        const to = remaining.shift()!;
        options.onRetry?.(endpoint.id, to.id, why);
        run(to);
        return true;
      };
      next({ ...opts, endpoint, fallbacks: remaining }, {
        onRequestStart: (c) => {
          if (current()) controller.attach(c);
        },
        onResponseStart: (c, status, headers, message) => {
          if (!current()) return;
          if (RETRYABLE_STATUS.has(status) && !committed && !controller.aborted && remaining.length > 0) {
            abandoned = true;
            c.abort(new AttemptAbandoned(`HTTP ${status}, trying another endpoint`));
            retry(`HTTP ${status}`);
            return;
          }
          committed = true;
          handler.onResponseStart?.(controller, status, headers, message);
        },
        onResponseData: (_c, chunk) => {
          if (current()) handler.onResponseData?.(controller, chunk);
        },
        onResponseEnd: (_c, trailers) => {
          if (current()) handler.onResponseEnd?.(controller, trailers);
        },
        onResponseError: (_c, err) => {
          if (!current()) return;
          if (!(err instanceof AttemptAbandoned) && retry(err.message)) return;
          handler.onResponseError?.(controller, err);
        },
      });
    };
    run(opts.endpoint);
  };
}
