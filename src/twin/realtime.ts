// The realtime driver: runs a TwinCore on the real clock, for the HTTP twin server.
// Each step: plan on the core, wait the planned duration (timing 'model') or nothing (timing
// 'instant': zero-duration steps, yielding with setImmediate so the event loop stays responsive),
// then commit, which emits tokens to the request observers at the step's end time.
// Clock: seconds since process start (performance.now() / 1000); use twin.now() for arrival times.
import { performance } from 'node:perf_hooks';
import type {
  KvCacheEvent,
  TwinCore,
  TwinDisaggOptions,
  TwinRequestObserver,
  TwinRequestSpec,
  TwinStats,
} from './core/types.ts';

export type TwinTiming = 'model' | 'instant';

export interface RealtimeTwinOptions {
  core: TwinCore;
  /** 'model' (default): steps take the step-time model's duration; 'instant': zero time. */
  timing?: TwinTiming;
}

/** A request as the driver takes it: the arrival time is stamped from the driver's clock. */
export type RealtimeRequestSpec = Omit<TwinRequestSpec, 'arrivalTime'> & TwinDisaggOptions;

export type KvEventListener = (events: KvCacheEvent[]) => void;

export interface RealtimeTwin {
  readonly timing: TwinTiming;
  /** The driver's clock in seconds; observers' `time` arguments are on this clock. */
  now(): number;
  /** Queues a request. Observers are called later from the step loop (a rejection: synchronously). */
  add(spec: RealtimeRequestSpec, observer: TwinRequestObserver): void;
  /** Cancels a request (its observer gets onFinish('abort')); unknown ids are ignored. */
  abort(id: string): void;
  /** Frees the blocks a finished prefill-role request holds (holdBlocksAfterFinish). */
  release(id: string): void;
  stats(): TwinStats;
  /** Requests not yet finished (waiting or running). */
  inFlight(): number;
  /** Called with each step's KV cache events, oldest first. Returns an unsubscribe function. */
  onKvEvents(listener: KvEventListener): () => void;
  /** Stops stepping and aborts every request in flight. */
  close(): void;
}

/** A timer firing this late (seconds) still continues from the planned end, so steps do not drift. */
const ON_TIME_SLACK_S = 0.005;
/** setTimeout's largest delay; longer ones fire at once with a warning. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function createRealtimeTwin(opts: RealtimeTwinOptions): RealtimeTwin {
  return new Driver(opts.core, opts.timing ?? 'model');
}

class Driver implements RealtimeTwin {
  readonly timing: TwinTiming;
  private readonly core: TwinCore;
  private readonly inflight = new Map<string, TwinRequestObserver>();
  private readonly listeners = new Set<KvEventListener>();
  private state: 'idle' | 'queued' | 'stepping' | 'closed' = 'idle';
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** End of the last step on the driver clock. */
  private lastEnd = 0;

  constructor(core: TwinCore, timing: TwinTiming) {
    if (timing !== 'model' && timing !== 'instant') throw new RangeError(`timing must be 'model' or 'instant', got '${timing}'`);
    this.core = core;
    this.timing = timing;
  }

  now(): number {
    return performance.now() / 1000;
  }

  add(spec: RealtimeRequestSpec, observer: TwinRequestObserver): void {
    if (this.state === 'closed') {
      observer.onFinish('rejected', this.now(), { cachedPromptTokens: 0, message: 'the engine is shut down' });
      return;
    }
    const wrapped: TwinRequestObserver = {
      onToken: (token, time) => observer.onToken(token, time),
      onFinish: (reason, time, info) => {
        if (this.inflight.get(spec.id) === wrapped) this.inflight.delete(spec.id);
        observer.onFinish(reason, time, info);
      },
    };
    const duplicate = this.inflight.has(spec.id);
    if (!duplicate) this.inflight.set(spec.id, wrapped);
    this.core.add({ ...spec, arrivalTime: this.now() }, wrapped);
    this.kick();
  }

  abort(id: string): void {
    this.core.abort(id, this.now());
    this.kick();
  }

  release(id: string): void {
    this.core.release(id);
    this.kick();
  }

  stats(): TwinStats {
    return this.core.stats();
  }

  inFlight(): number {
    return this.inflight.size;
  }

  onKvEvents(listener: KvEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.abortAll('the engine is shut down');
  }

  /** Starts the step loop if it is idle. */
  private kick(): void {
    if (this.state !== 'idle' || !this.core.hasWork()) return;
    this.state = 'queued';
    this.immediate = setImmediate(() => this.step());
  }

  /** `continuing`: called right after a commit, so the step may start at that commit's planned end. */
  private step(continuing = false): void {
    this.immediate = undefined;
    if (this.state === 'closed') return;
    const t = this.now();
    // Continue from the planned end when the timer was only a little late, so timing does not drift.
    const start = continuing && t - this.lastEnd < ON_TIME_SLACK_S ? this.lastEnd : t;
    let plan;
    try {
      plan = this.core.planStep(start);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!plan) {
      this.state = 'idle'; // nothing runnable now: add(), abort() or release() kicks again
      return;
    }
    this.state = 'stepping';
    if (this.timing === 'instant') {
      this.commit(this.now());
      this.immediate = setImmediate(() => this.step());
      return;
    }
    const end = start + plan.durationSeconds;
    this.waitUntil(end, () => {
      this.commit(end);
      if (this.state === 'stepping') this.step(true);
    });
  }

  /** setTimeout to a time on the driver clock; re-arms for waits longer than setTimeout's 24.8-day limit. */
  private waitUntil(end: number, fn: () => void): void {
    const ms = (end - this.now()) * 1000;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (ms > MAX_TIMEOUT_MS) this.waitUntil(end, fn);
      else fn();
    }, Math.min(Math.max(0, ms), MAX_TIMEOUT_MS));
  }

  private commit(time: number): void {
    try {
      this.core.commitStep(time);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.lastEnd = time;
    this.publishKvEvents();
  }

  private publishKvEvents(): void {
    const events = this.core.drainKvEvents();
    if (events.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        console.error('twin: KV event listener threw:', err);
      }
    }
  }

  /** A bug in the core: say so, end every request in flight, and keep the process alive. */
  private fail(err: unknown): void {
    console.error('twin: engine step failed:', err);
    this.abortAll('internal engine error');
    if (this.state !== 'closed') this.state = 'idle';
  }

  private abortAll(message: string): void {
    const t = this.now();
    for (const [id, observer] of [...this.inflight]) {
      try {
        this.core.abort(id, t, message);
      } catch {
        // The core is in a bad state; tell the observer ourselves.
      }
      if (this.inflight.get(id) === observer) {
        this.inflight.delete(id);
        observer.onFinish('abort', t, { cachedPromptTokens: 0, message });
      }
    }
  }
}
