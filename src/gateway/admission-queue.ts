// The bounded priority queue a request waits in while every endpoint of its pool is saturated.
// Lower `priority` goes first (vLLM's convention), FIFO within a priority. Strict hand-off: only
// the waiter at the head is offered room, so nobody overtakes an older waiter of its priority,
// and a refusal at the head ends the round (head-of-line, as the simulator's queue,
// src/sim/cluster/admission.ts). Rounds run when a request finishes (one waiter: one slot freed)
// and every `pollMs` while anyone waits (fresh metrics may have room for several). Full queue or
// a wait past the timeout -> 429 with retry-after; a client that leaves -> 499.
import { performance } from 'node:perf_hooks';
import { ApiError as GatewayError } from '../http/api-error.ts';

/** How a request left the queue: admitted, or shed (full, timed out, client gone, routing failed, queue drained). */
export type QueueExit = 'admitted' | 'full' | 'timeout' | 'client_closed' | 'failed' | 'drained';

interface Waiter<T> {
  priority: number;
  /** performance.now() when it joined the line. */
  since: number;
  /** What the waiter gets when it is admitted; undefined = still no room. May throw (the waiter fails). */
  admit: () => T | undefined;
  resolve: (value: T) => void;
  fail: (err: GatewayError) => void;
  timer: NodeJS.Timeout;
}

export interface AdmissionQueueOptions {
  maxSize: number;
  timeoutMs: number;
  /** How often the head is offered room when nothing finished (scrapes refresh at 50 ms). */
  pollMs: number;
  onDepth?: (depth: number) => void;
  /** Every request that asked to wait, once, with how it left and after how long (seconds). */
  onExit?: (exit: QueueExit, waitedSeconds: number) => void;
}

export class AdmissionQueue<T> {
  private readonly waiters: Waiter<T>[] = []; // sorted: best first, then in arrival order
  private readonly opts: AdmissionQueueOptions;
  private poll: NodeJS.Timeout | undefined;
  /** Admissions still wanted in the current round; one per macrotask (see `step`). */
  private wanted = 0;
  private stepping = false;

  constructor(opts: AdmissionQueueOptions) {
    this.opts = opts;
  }

  get depth(): number {
    return this.waiters.length;
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs;
  }

  /** Waits in line until `admit` gives a value. Rejects with 429 when full or timed out, 499 on `signal`. */
  enqueue(priority: number, admit: () => T | undefined, signal?: AbortSignal): Promise<T> {
    const retryAfter = String(Math.max(1, Math.ceil(this.opts.timeoutMs / 1000 / 4)));
    if (this.waiters.length >= this.opts.maxSize) {
      this.opts.onExit?.('full', 0);
      return Promise.reject(saturated(`all endpoints are saturated and the queue is full (${this.opts.maxSize})`, retryAfter));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.leave(waiter, 'client_closed', new GatewayError(499, 'client closed request'));
      const settle = () => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter<T> = {
        priority,
        since: performance.now(),
        admit,
        resolve: (v) => (settle(), resolve(v)),
        fail: (err) => (settle(), reject(err)),
        timer: setTimeout(() => this.leave(waiter, 'timeout', saturated(`all endpoints stayed saturated for ${this.opts.timeoutMs} ms`, retryAfter)), this.opts.timeoutMs),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.priority > priority) i--;
      this.waiters.splice(i, 0, waiter);
      this.changed();
    });
  }

  /** A request on the pool finished: the head waiter is offered the slot it freed. */
  wake(): void {
    this.round(1);
  }

  /** Fails every waiter (pool removed by a reload, or shutdown). */
  drain(err: GatewayError): void {
    for (const w of this.waiters.splice(0)) {
      this.exited(w, 'drained');
      w.fail(err);
    }
    this.changed();
  }

  /** Offers room to up to `admissions` more waiters (each finish adds one; a poll, everyone). */
  private round(admissions: number): void {
    if (this.waiters.length === 0) return;
    this.wanted += admissions;
    if (this.wanted > 0 && !this.stepping) {
      this.stepping = true;
      setImmediate(this.step);
    }
  }

  // One admission per macrotask: the admitted request's continuation sends it (and counts it in
  // flight) before the next waiter's `admit` looks at the endpoints, so a round cannot put more on
  // an endpoint than its saturation check allows.
  private readonly step = (): void => {
    this.stepping = false;
    const head = this.waiters[0];
    if (!head || this.wanted <= 0) return;
    let value: T | undefined;
    try {
      value = head.admit();
    } catch (err) {
      this.leave(head, 'failed', err instanceof GatewayError ? err : new GatewayError(500, 'internal error'));
      this.round(0); // the next waiter still gets its try
      return;
    }
    if (value === undefined) {
      this.wanted = 0; // head-of-line: nobody behind it is offered room this round
      return;
    }
    this.waiters.shift();
    this.changed();
    this.exited(head, 'admitted');
    head.resolve(value);
    this.wanted--;
    this.round(0); // the rest of the round, if any is wanted, after the continuation
  };

  private leave(w: Waiter<T>, exit: QueueExit, err: GatewayError): void {
    const i = this.waiters.indexOf(w);
    if (i === -1) return;
    this.waiters.splice(i, 1);
    this.changed();
    this.exited(w, exit);
    w.fail(err);
  }

  private exited(w: Waiter<T>, exit: QueueExit): void {
    this.opts.onExit?.(exit, (performance.now() - w.since) / 1000);
  }

  /** Depth gauge, and the poll timer that runs while anyone waits. */
  private changed(): void {
    this.opts.onDepth?.(this.waiters.length);
    if (this.waiters.length > 0 && !this.poll) {
      this.poll = setInterval(() => this.round(Infinity), this.opts.pollMs);
    } else if (this.waiters.length === 0) {
      this.wanted = 0; // room offered to nobody is not saved for later waiters
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }
}

function saturated(message: string, retryAfter: string): GatewayError {
  return new GatewayError(429, message, { code: 'engines_saturated', headers: { 'retry-after': retryAfter } });
}
