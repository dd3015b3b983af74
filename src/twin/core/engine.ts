// The twin's pure core: block manager + batch scheduler + an injected step-time model. It never
// reads a clock: the driver calls planStep(now), waits the returned duration (really or virtually)
// and calls commitStep(now + duration), which computes the tokens and emits them to observers.
// Generated tokens are deterministic filler (seeded by the request id): this engine is simulated.
import type { StepTimeModel } from '../../physics/types.ts';
import { appendToken, BlockManager, tokenBuffer } from './block-manager.ts';
import { ArrivalLag } from './arrival-lag.ts';
import { rootHash } from './block-hash.ts';
import { fillerDraw, seedOf, type CoreRequest } from './request.ts';
import { BatchScheduler, type BatchSchedulerOptions } from './scheduler.ts';
import type {
  FinishReason,
  KvCacheEvent,
  PlannedStep,
  TwinCore,
  TwinDisaggOptions,
  TwinRequestObserver,
  TwinRequestSpec,
  TwinStats,
} from './types.ts';

export const DEFAULT_BLOCK_SIZE = 16;
/** Finished requests' token buffers kept for reuse. */
const MAX_SPARE_BUFFERS = 64;

export interface TwinCoreOptions extends BatchSchedulerOptions {
  stepTime: StepTimeModel;
  numGpuBlocks: number;
  /** Tokens per KV block. Default 16. */
  blockSize?: number;
  /** Filler tokens are drawn from these ids when given (e.g. the tokenizer's plain-word ids)... */
  fillerTokenIds?: readonly number[];
  /** ...otherwise from [0, vocabSize). Default 32,000. */
  vocabSize?: number;
  /** Reuse computed blocks across requests (vLLM --enable-prefix-caching). Default true. */
  enablePrefixCaching?: boolean;
  /** Record KV cache events for drainKvEvents(). Default true; the simulator turns it off. */
  recordKvEvents?: boolean;
  /** Bound of the KV event buffer between drains. Default 10,000 (oldest dropped, counted). */
  maxBufferedKvEvents?: number;
  /** BlockStored events carry token ids (default true; see BlockManagerOptions.eventTokenIds). */
  kvEventTokenIds?: boolean;
  /** Bound of the waiting queue; requests beyond it are rejected. Default 100,000. */
  maxWaiting?: number;
  /**
   * Plan each step while the previous one runs, as vLLM does by default (async scheduling; off
   * with --no-async-scheduling) and TensorRT-LLM's and SGLang's overlap schedulers do: a request
   * arriving during a step joins the step after next. Default true; false = a synchronous scheduler.
   */
  asyncScheduling?: boolean;
  /** An observer threw: the core carries on; this says so. Default: console.error. */
  onObserverError?: (err: unknown, requestId: string) => void;
}

/** The core, plus a consistency check for tests. */
export interface CheckedTwinCore extends TwinCore {
  /** Verifies block accounting and queue bookkeeping (O(blocks + requests)); the first problem, or null. */
  checkInvariants(): string | null;
}

export function createTwinCore(opts: TwinCoreOptions): CheckedTwinCore {
  return new Core(opts);
}

class Core implements CheckedTwinCore {
  private readonly stepTime: StepTimeModel;
  private readonly bm: BlockManager;
  private readonly sched: BatchScheduler;
  private readonly blockSize: number;
  private readonly fillerIds: readonly number[] | undefined;
  private readonly vocabSize: number;
  private readonly maxWaiting: number;
  private readonly onObserverError: (err: unknown, requestId: string) => void;
  /** Every request not yet finished, plus finished prefill-role requests still holding blocks. */
  private readonly active = new Map<string, CoreRequest>();
  private numHeld = 0;
  private planned = false;
  private committing = false;
  /** With async scheduling: requests that arrived during a step, not yet in the waiting queue. */
  private readonly lag: ArrivalLag<CoreRequest> | undefined;
  /** A running request finished or was aborted since the running list was last swept. */
  private finishedSinceSweep = false;
  private generationTokens = 0;
  /** Whether any request named a LoRA adapter (stats then walk the queues for them). */
  private sawLora = false;
  /** Token buffers of finished requests, reused by new ones (a closed loop replaces each finish with an add). */
  private readonly spareBuffers: Uint32Array[] = [];

  constructor(opts: TwinCoreOptions) {
    if (typeof opts.stepTime?.stepSeconds !== 'function') throw new TypeError('stepTime must be a StepTimeModel');
    this.stepTime = opts.stepTime;
    this.bm = new BlockManager({
      numBlocks: opts.numGpuBlocks,
      blockSize: opts.blockSize ?? DEFAULT_BLOCK_SIZE,
      recordEvents: opts.recordKvEvents ?? true,
      maxBufferedEvents: opts.maxBufferedKvEvents,
      eventTokenIds: opts.kvEventTokenIds,
      enablePrefixCaching: opts.enablePrefixCaching,
    });
    this.blockSize = this.bm.blockSize;
    this.sched = new BatchScheduler(this.bm, opts);
    this.lag = (opts.asyncScheduling ?? true) ? new ArrivalLag() : undefined;
    if (opts.fillerTokenIds && opts.fillerTokenIds.length === 0) throw new RangeError('fillerTokenIds must not be empty');
    this.fillerIds = opts.fillerTokenIds;
    this.vocabSize = opts.vocabSize ?? 32_000;
    this.maxWaiting = opts.maxWaiting ?? 100_000;
    this.onObserverError = opts.onObserverError ?? ((err, id) => console.error(`twin: observer of request ${id} threw:`, err));
  }

  add(spec: TwinRequestSpec & TwinDisaggOptions, observer: TwinRequestObserver): void {
    const problem = this.validate(spec);
    if (problem) {
      this.notify(spec.id, () => observer.onFinish('rejected', spec.arrivalTime, { cachedPromptTokens: 0, message: problem }));
      return;
    }
    const req: CoreRequest = {
      id: spec.id,
      observer,
      arrivalTime: spec.arrivalTime,
      promptLength: spec.promptTokenIds.length,
      maxTokens: spec.maxTokens,
      seed: seedOf(spec.id),
      holdBlocksAfterFinish: spec.holdBlocksAfterFinish ?? false,
      promptKvTransferred: spec.promptKvTransferred ?? false,
      status: 'waiting',
      numComputed: 0,
      numOutput: 0,
      cachedPromptTokens: 0,
      admitted: false,
      // Room for some output up front; the buffer doubles if a long generation needs more.
      tokens: this.tokenBuffer(spec.promptTokenIds, Math.min(spec.maxTokens, 1024)),
      numTokens: spec.promptTokenIds.length,
      rootHash: rootHash(spec.cacheSalt, spec.lora),
      cacheSalt: spec.cacheSalt,
      lora: spec.lora,
      blockHashes: spec.promptBlockKeys ? spec.promptBlockKeys.slice(0, Math.floor(spec.promptTokenIds.length / this.blockSize)) : [],
      blocks: [],
      numRegisteredBlocks: 0,
    };
    this.active.set(req.id, req);
    if (spec.lora) this.sawLora = true;
    // With async scheduling the next step's plan already exists while requests are running: those
    // arriving during a step (a closed-loop client's replacement arrives as the step's end is
    // committed) or between two steps wait one plan more. An engine with nothing running starts at once.
    if (!this.lag) this.sched.enqueue(req);
    else if (this.planned || this.committing) this.lag.add(req);
    else if (this.sched.running.length > 0) this.lag.addBetweenSteps(req);
    else this.sched.enqueue(req);
  }

  abort(id: string, time: number, message?: string): void {
    const req = this.active.get(id);
    if (!req) return;
    if (req.status === 'held') {
      this.release(id);
      return;
    }
    if (this.lag?.remove(req)) {
      this.finish(req, 'abort', time, false, message); // never queued: nothing to uncount
      return;
    }
    const wasWaiting = req.status === 'waiting';
    if (req.status === 'running') this.sched.removeRunning(req);
    this.finish(req, 'abort', time, false, message);
    if (wasWaiting) this.sched.forgetWaiting(); // after finish: the deque sweep looks for status 'finished'
  }

  release(id: string): void {
    const req = this.active.get(id);
    if (!req || req.status !== 'held') return;
    this.bm.free(req);
    req.status = 'finished';
    this.active.delete(id);
    this.numHeld--;
  }

  hasWork(): boolean {
    return this.sched.numWaiting > 0 || this.sched.running.length > 0 || (this.lag?.size ?? 0) > 0;
  }

  planStep(_time: number): PlannedStep | null {
    if (this.planned) throw new Error('planStep called twice without commitStep');
    if (!this.hasWork()) return null;
    // Nothing running: no plan was overlapped with a step, so late arrivals may join this one.
    if (this.lag && this.sched.running.length === 0) for (const r of this.lag.drain()) this.sched.enqueue(r);
    const { requests, batch } = this.sched.schedule();
    if (requests.length === 0) return null; // waiting for blocks held by prefill-role requests
    const durationSeconds = this.stepTime.stepSeconds(batch);
    if (!(durationSeconds >= 0) || !Number.isFinite(durationSeconds)) {
      throw new Error(`step-time model returned ${durationSeconds} s`);
    }
    this.planned = true;
    let prefillTokens = 0;
    for (let i = 0; i < batch.prefill.length; i++) prefillTokens += batch.prefill[i]!.tokens;
    return { durationSeconds, prefillTokens, decodeSequences: batch.decode.length };
  }

  commitStep(time: number): void {
    if (!this.planned) throw new Error('commitStep called without planStep');
    this.planned = false;
    this.committing = true;
    const { requests, numTokens } = this.sched.lastScheduled();
    const blockSize = this.blockSize;
    for (let i = 0; i < requests.length; i++) {
      const req = requests[i]!;
      if (req.status !== 'running') continue; // aborted during the step
      const computed = (req.numComputed += numTokens[i]!);
      // Only a step that completes a block has anything to register.
      if (computed >= (req.numRegisteredBlocks + 1) * blockSize) this.bm.cacheComputed(req, computed);
      if (computed < req.numTokens) continue; // a prefill chunk: no token yet
      const token = this.filler(req);
      appendToken(req, token);
      req.numOutput++;
      this.generationTokens++;
      try {
        req.observer.onToken(token, time);
      } catch (err) {
        this.onObserverError(err, req.id);
      }
      if (req.numOutput >= req.maxTokens && req.status === 'running') this.finish(req, 'length', time, true);
    }
    if (this.finishedSinceSweep) {
      this.sched.sweepFinished();
      this.finishedSinceSweep = false;
    }
    this.committing = false;
    if (this.lag) for (const r of this.lag.stepEnded()) this.sched.enqueue(r);
  }

  drainKvEvents(): KvCacheEvent[] {
    return this.bm.drainEvents();
  }

  stats(): TwinStats {
    const s = this.sched;
    return {
      // vLLM counts a request as waiting from the first engine loop after it arrives, even when the
      // plan it missed is already running.
      waiting: s.numWaiting + (this.lag?.size ?? 0),
      running: s.running.length,
      kvUsage: this.bm.numUsedBlocks / this.bm.numBlocks,
      numGpuBlocks: this.bm.numBlocks,
      blockSize: this.bm.blockSize,
      prefixQueriedTokens: s.prefixQueriedTokens,
      prefixHitTokens: s.prefixHitTokens,
      preemptions: s.preemptions,
      promptTokens: s.promptTokens,
      generationTokens: this.generationTokens,
      heldRequests: this.numHeld,
      kvEventsDropped: this.bm.droppedEvents,
      // Walking the queues costs, and most cores never see an adapter.
      lora: this.sawLora ? { running: [...s.runningLoras()], waiting: this.waitingLoras(), max: s.maxLoras } : { running: [], waiting: [], max: s.maxLoras },
    };
  }

  /** Adapters of the requests waiting (queued, or lagging behind the planned step). */
  private waitingLoras(): string[] {
    const out = new Set<string>();
    this.sched.waiting.forEach((r) => r.lora && r.status === 'waiting' && out.add(r.lora));
    this.lag?.forEach((r) => r.lora && out.add(r.lora));
    return [...out];
  }

  checkInvariants(): string | null {
    const problem = this.bm.checkInvariants();
    if (problem) return problem;
    const s = this.sched;
    if (s.running.length > s.maxNumSeqs) return `${s.running.length} running, more than ${s.maxNumSeqs}`;
    let blocks = 0;
    for (const req of this.active.values()) {
      if (req.status === 'running' && req.blocks.length * this.blockSize < req.numComputed) return `request ${req.id} has computed tokens outside its blocks`;
      if (req.status === 'waiting' && req.blocks.length > 0) return `waiting request ${req.id} holds blocks`;
      for (const b of req.blocks) if (this.bm.refCountOf(b) <= 0) return `request ${req.id} holds free block ${b}`;
      blocks += req.blocks.length;
    }
    let refs = 0;
    for (let b = 0; b < this.bm.numBlocks; b++) refs += this.bm.refCountOf(b);
    if (refs !== blocks) return `refcounts sum to ${refs} but requests hold ${blocks} blocks`;
    let waiting = 0;
    for (const req of this.active.values()) if (req.status === 'waiting' && !this.lag?.has(req)) waiting++;
    if (waiting !== s.numWaiting) return `${waiting} waiting requests, counted ${s.numWaiting}`;
    return null;
  }

  private validate(spec: TwinRequestSpec): string | undefined {
    if (this.active.has(spec.id)) return `request id '${spec.id}' is already in use`;
    const ids = spec.promptTokenIds;
    const words = ids instanceof Uint32Array; // every element already a valid id: nothing to check per token
    if (!(words || Array.isArray(ids)) || ids.length === 0) return 'the prompt must have at least one token';
    if (!words) {
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) return `token ids must be integers from 0 to 4294967295, got ${id}`;
      }
    }
    if (!Number.isInteger(spec.maxTokens) || spec.maxTokens < 1) return `maxTokens must be a positive integer, got ${spec.maxTokens}`;
    const capacity = this.bm.numBlocks * this.bm.blockSize;
    const needed = spec.promptTokenIds.length + spec.maxTokens;
    if (needed > capacity) {
      return `prompt (${spec.promptTokenIds.length}) + max tokens (${spec.maxTokens}) = ${needed} tokens exceeds the KV cache (${capacity} tokens)`;
    }
    if (this.sched.numWaiting + (this.lag?.size ?? 0) >= this.maxWaiting) return `waiting queue is full (${this.maxWaiting} requests)`;
    return undefined;
  }

  /**
   * A buffer holding the prompt with room for `spare` more tokens: a finished request's if one fits
   * without wasting more than half of it, else a new one. Entries past the prompt are stale and never
   * read (everything reads below numTokens).
   */
  private tokenBuffer(ids: ArrayLike<number>, spare: number): Uint32Array {
    const needed = ids.length + spare;
    const buf = this.spareBuffers.pop();
    if (!buf || buf.length < needed || buf.length > 2 * needed) return tokenBuffer(ids, spare);
    buf.set(ids);
    return buf;
  }

  private filler(req: CoreRequest): number {
    // floor(draw x n / 2^32) picks uniformly from n with a multiply, not a division (exact in doubles).
    const draw = fillerDraw(req.seed, req.numOutput) * 2.3283064365386963e-10;
    return this.fillerIds ? this.fillerIds[Math.floor(draw * this.fillerIds.length)]! : Math.floor(draw * this.vocabSize);
  }

  /** Ends a request: frees its blocks (or holds them for a decode peer), then tells its observer. */
  private finish(req: CoreRequest, reason: FinishReason, time: number, completed: boolean, message?: string): void {
    if (req.status === 'running') this.finishedSinceSweep = true;
    if (completed && req.holdBlocksAfterFinish) {
      req.status = 'held';
      this.numHeld++;
    } else {
      this.bm.free(req);
      req.status = 'finished';
      this.active.delete(req.id);
      if (this.spareBuffers.length < MAX_SPARE_BUFFERS) this.spareBuffers.push(req.tokens);
    }
    const info = message === undefined ? { cachedPromptTokens: req.cachedPromptTokens } : { cachedPromptTokens: req.cachedPromptTokens, message };
    this.notify(req.id, () => req.observer.onFinish(reason, time, info));
  }

  private notify(id: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.onObserverError(err, id);
    }
  }
}
