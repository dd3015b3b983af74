// The bounded priority queue a request waits in while every endpoint of its pool is saturated.
// Lower `priority` goes first (vLLM's convention), FIFO within a priority. Full queue or a wait
// past the timeout -> 429 with retry-after.
import { performance } from 'node:perf_hooks';
import { ApiError as GatewayError } from '../http/api-error.ts';

interface Waiter {
  priority: number;
  seq: number;
  wake: () => void;
  fail: (err: GatewayError) => void;
  timer: NodeJS.Timeout;
}

export class AdmissionQueue {
  private readonly waiters: Waiter[] = []; // sorted: best first
  private seq = 0;
  private readonly maxSize: number;
  readonly timeoutMs: number;
  private readonly onDepth: (depth: number) => void;

  constructor(maxSize: number, timeoutMs: number, onDepth: (depth: number) => void = () => {}) {
    this.maxSize = maxSize;
    this.timeoutMs = timeoutMs;
    this.onDepth = onDepth;
  }

  get depth(): number {
    return this.waiters.length;
  }

  /** A place in line: pass the same ticket to every `wait` of one request so a re-check keeps it. */
  ticket(): number {
    return this.seq++;
  }

  /**
   * Waits for a wake-up (a request finished) or `pollMs` (scraped metrics may have changed), then
   * the caller checks again. Rejects with 429 when full or once `deadline` (performance.now() ms)
   * has passed. Within a priority, waiters are ordered by `ticket` (default: a new one, the back).
   */
  wait(priority: number, deadline: number, pollMs: number, signal?: AbortSignal, ticket = this.ticket()): Promise<void> {
    const retryAfter = String(Math.max(1, Math.ceil(this.timeoutMs / 1000 / 4)));
    if (this.waiters.length >= this.maxSize) {
      return Promise.reject(saturated(`all endpoints are saturated and the queue is full (${this.maxSize})`, retryAfter));
    }
    // Whether this wait ends at the deadline rather than at a poll. Decided now, not by comparing
    // clocks when the timer fires: timers count from the event loop's cached time and may fire a
    // few milliseconds early on a busy machine.
    const untilDeadline = deadline - performance.now();
    const endsAtDeadline = untilDeadline <= pollMs;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        seq: ticket,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
        timer: setTimeout(() => {
          this.remove(waiter);
          if (endsAtDeadline) waiter.fail(saturated(`all endpoints stayed saturated for ${this.timeoutMs} ms`, retryAfter));
          else waiter.wake();
        }, Math.max(0, Math.min(pollMs, untilDeadline))),
      };
      const onAbort = () => {
        clearTimeout(waiter.timer);
        this.remove(waiter);
        waiter.fail(new GatewayError(499, 'client closed request'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let i = this.waiters.length;
      while (i > 0 && after(this.waiters[i - 1]!, priority, ticket)) i--;
      this.waiters.splice(i, 0, waiter);
      this.onDepth(this.waiters.length);
    });
  }

  /** Lets the best waiter try again (called when a request on the pool finishes). */
  wakeOne(): void {
    const w = this.waiters.shift();
    if (!w) return;
    clearTimeout(w.timer);
    this.onDepth(this.waiters.length);
    w.wake();
  }

  /** Fails every waiter (pool removed by a reload, or shutdown). */
  drain(err: GatewayError): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.fail(err);
    }
    this.onDepth(0);
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i !== -1) this.waiters.splice(i, 1);
    this.onDepth(this.waiters.length);
  }
}

/** Whether `w` goes after a waiter of `priority` holding `seq`. */
function after(w: Waiter, priority: number, seq: number): boolean {
  return w.priority > priority || (w.priority === priority && w.seq > seq);
}

function saturated(message: string, retryAfter: string): GatewayError {
  return new GatewayError(429, message, { code: 'engines_saturated', headers: { 'retry-after': retryAfter } });
}
