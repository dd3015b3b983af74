// The bounded priority queue a request waits in while every endpoint of its pool is saturated.
// Lower `priority` goes first (vLLM's convention), FIFO within a priority. Strict hand-off: room
// is offered in line order, so nobody overtakes an older waiter of its lane, and a waiter that
// finds none holds back the rest of its lane for the round (head-of-line per lane, as the
// simulator's queue, src/sim/cluster/admission.ts). A lane is what a request can run on (the pool
// uses the model name: an adapter served by busy endpoints does not hold back the base model).
// Rounds run when a request finishes (one admission: one slot freed) and every `pollMs` while
// anyone waits (fresh metrics may have room for several). Full queue or a wait past the timeout ->
// 429 with retry-after; a client that leaves -> 499.
import { performance } from 'node:perf_hooks';
import { ApiError as GatewayError } from '../http/api-error.ts';

/** How a request left the queue: admitted, or shed (full, timed out, client gone, routing failed, queue drained). */
export type QueueExit = 'admitted' | 'full' | 'timeout' | 'client_closed' | 'failed' | 'drained';

interface Waiter<T> {
  priority: number;
  lane: string;
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
  /** Lanes whose first waiter found no room this round: the rest of each waits for the next round. */
  private readonly refused = new Set<string>();

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
  enqueue(priority: number, admit: () => T | undefined, signal?: AbortSignal, lane = ''): Promise<T> {
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
        lane,
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

  /** A request on the pool finished: the slot it freed is offered in line order (one admission). */
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
    if (admissions > 0) this.refused.clear(); // new room: every lane may try again
    if (this.wanted > 0 && !this.stepping) {
      this.stepping = true;
      setImmediate(this.step);
    }
  }

  // One admission per macrotask: the admitted request's continuation sends it (and counts it in
  // flight) before the next waiter's `admit` looks at the endpoints, so a round cannot put more on
  // an endpoint than its saturation check allows. Refusals change nothing, so one step may see several.
  private readonly step = (): void => {
    this.stepping = false;
    for (let i = 0; i < this.waiters.length && this.wanted > 0; ) {
      const w = this.waiters[i]!;
      if (this.refused.has(w.lane)) {
        i++;
        continue;
      }
      let value: T | undefined;
      try {
        value = w.admit();
      } catch (err) {
        this.leave(w, 'failed', err instanceof GatewayError ? err : new GatewayError(500, 'internal error'));
        continue; // the next waiter, now at i, still gets its try
      }
      if (value === undefined) {
        this.refused.add(w.lane); // head-of-line: nobody behind it in its lane is offered room this round
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.changed();
      this.exited(w, 'admitted');
      w.resolve(value);
      if (--this.wanted > 0 && this.waiters.length > 0) {
        this.stepping = true;
        setImmediate(this.step); // the rest of the round, after the continuation
        return;
      }
      break;
    }
    this.wanted = 0;
    this.refused.clear();
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
