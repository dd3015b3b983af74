// The batch scheduler, after vLLM v1's: each step gets a token budget; running requests are served
// first (a decode needs 1 token, an unfinished prefill takes what is left of the budget: chunked
// prefill), then waiting requests are admitted in arrival order while budget, sequence slots and
// blocks last (continuous batching). When a running request needs a block and none is free, the
// newest running request is preempted: its blocks are freed and it goes back to the front of the
// waiting queue, to be recomputed later (its full blocks usually survive in the prefix cache).
import type { DecodeWork, PrefillWork, StepBatch } from '../../physics/types.ts';
import type { BlockManager } from './block-manager.ts';
import { Deque } from './deque.ts';
import type { CoreRequest } from './request.ts';

export const DEFAULT_MAX_NUM_SEQS = 256;
export const DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192;

export interface BatchSchedulerOptions {
  /** Most sequences in one step. Default 256. */
  maxNumSeqs?: number;
  /** Most tokens computed in one step (prefill chunks + decodes). Default 8192. */
  maxNumBatchedTokens?: number;
  /**
   * 'on-demand' (vLLM, default): blocks are allocated as a sequence grows; running out preempts.
   * 'full' (TensorRT-LLM GUARANTEED_NO_EVICT): prompt + max tokens are reserved at admission, so
   * requests wait for room instead of being preempted.
   */
  kvReservation?: 'on-demand' | 'full';
  /** Most LoRA adapters in one step (vLLM --max-loras, default 1): a waiting request for another adapter is passed over. */
  maxLoras?: number;
}

/** One step's plan. The arrays and objects are reused from step to step: read them before the next schedule(). */
export interface ScheduledBatch {
  requests: CoreRequest[];
  numTokens: number[];
  batch: StepBatch;
}

export class BatchScheduler {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly kvReservation: 'on-demand' | 'full';
  readonly maxLoras: number;
  /** Waiting requests; aborted ones stay in the deque (status 'finished') until they reach the front. */
  readonly waiting = new Deque<CoreRequest>();
  numWaiting = 0;
  /** Running requests, oldest admission first. */
  running: CoreRequest[] = [];
  preemptions = 0;
  prefixQueriedTokens = 0;
  prefixHitTokens = 0;
  promptTokens = 0;

  private readonly bm: BlockManager;
  private readonly out: ScheduledBatch = { requests: [], numTokens: [], batch: { prefill: [], decode: [] } };
  private readonly prefillPool: PrefillWork[] = [];
  private readonly decodePool: DecodeWork[] = [];
  // Entries written so far this step in out.requests/numTokens, batch.prefill and batch.decode.
  private count = 0;
  private numPrefill = 0;
  private numDecode = 0;

  constructor(bm: BlockManager, opts: BatchSchedulerOptions = {}) {
    this.bm = bm;
    this.maxNumSeqs = positiveInt('maxNumSeqs', opts.maxNumSeqs ?? DEFAULT_MAX_NUM_SEQS);
    this.maxNumBatchedTokens = positiveInt('maxNumBatchedTokens', opts.maxNumBatchedTokens ?? DEFAULT_MAX_NUM_BATCHED_TOKENS);
    this.kvReservation = opts.kvReservation ?? 'on-demand';
    this.maxLoras = positiveInt('maxLoras', opts.maxLoras ?? 1);
    if (this.kvReservation !== 'on-demand' && this.kvReservation !== 'full') throw new RangeError(`kvReservation must be 'on-demand' or 'full'`);
  }

  enqueue(req: CoreRequest): void {
    req.status = 'waiting';
    this.waiting.pushBack(req);
    this.numWaiting++;
  }

  /** Picks this step's work, allocating blocks (and preempting) as it goes. */
  schedule(): ScheduledBatch {
    const out = this.out;
    // Written by index and truncated at the end: `length = 0` would drop the arrays' storage every step.
    this.count = this.numPrefill = this.numDecode = 0;
    let budget = this.maxNumBatchedTokens;
    let preempted = false;
    const blockSize = this.bm.blockSize;

    // 1. Running requests, oldest first.
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const req = this.running[i]!;
      const n = Math.min(req.numTokens - req.numComputed, budget);
      if (n <= 0) continue;
      // Most decode steps fit in the last block already: skip the call.
      let ok = req.blocks.length * blockSize >= req.numComputed + n || this.bm.allocate(req, req.numComputed + n);
      while (!ok) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        preempted = true;
        if (victim === req) break;
        ok = this.bm.allocate(req, req.numComputed + n);
      }
      if (!ok) break; // req was the newest and preempted itself
      this.take(req, n);
      budget -= n;
    }

    // 2. Waiting requests in order, unless this step had to preempt (as vLLM: no admissions then).
    // A request whose adapter would exceed maxLoras is passed over for this step and keeps its place.
    let loras: Set<string> | undefined;
    let passedOver: CoreRequest[] | undefined;
    while (!preempted && this.numWaiting > 0 && budget > 0 && this.running.length < this.maxNumSeqs) {
      const req = this.waiting.peekFront()!;
      if (req.status === 'finished') {
        this.waiting.popFront(); // aborted while waiting; already uncounted
        continue;
      }
      if (req.lora) {
        loras ??= this.runningLoras();
        if (!loras.has(req.lora) && loras.size >= this.maxLoras) {
          (passedOver ??= []).push(this.waiting.popFront()!);
          this.numWaiting--;
          continue;
        }
      }
      const hits = this.bm.findCachedPrefix(req);
      const hitTokens = hits * this.bm.blockSize;
      // A transferred prompt is already in KV except its last token, which runs to sample the first output.
      const start = req.promptKvTransferred ? Math.max(hitTokens, req.numTokens - 1) : hitTokens;
      const n = Math.min(req.numTokens - start, budget);
      const reserve = this.kvReservation === 'full' ? req.promptLength + req.maxTokens : start + n;
      if (!this.bm.allocate(req, reserve, hits)) break; // head-of-line waits for blocks
      this.waiting.popFront();
      this.numWaiting--;
      req.numComputed = start;
      req.status = 'running';
      this.running.push(req);
      this.prefixQueriedTokens += req.numTokens;
      this.prefixHitTokens += hitTokens;
      if (!req.admitted) {
        req.admitted = true;
        req.cachedPromptTokens = hitTokens;
        this.promptTokens += req.promptLength;
      }
      this.take(req, n);
      budget -= n;
      if (req.lora) loras?.add(req.lora);
    }
    if (passedOver) {
      for (let i = passedOver.length - 1; i >= 0; i--) this.waiting.pushFront(passedOver[i]!);
      this.numWaiting += passedOver.length;
    }

    truncate(out.requests, this.count);
    truncate(out.numTokens, this.count);
    truncate(out.batch.prefill, this.numPrefill);
    truncate(out.batch.decode, this.numDecode);
    return out;
  }

  /** The adapters of the running requests (what occupies the step's LoRA slots). */
  runningLoras(): Set<string> {
    const s = new Set<string>();
    for (const r of this.running) if (r.lora) s.add(r.lora);
    return s;
  }

  /** A waiting request was aborted: it stays in the deque until it reaches the front, unless aborted ones pile up. */
  forgetWaiting(): void {
    this.numWaiting--;
    if (this.waiting.length > 2 * this.numWaiting + 64) this.waiting.removeIf((r) => r.status === 'finished');
  }

  /** The plan made by the last schedule(). */
  lastScheduled(): ScheduledBatch {
    return this.out;
  }

  /** Removes a request that finished or was aborted from the running list. */
  removeRunning(req: CoreRequest): void {
    const i = this.running.indexOf(req);
    if (i >= 0) this.running.splice(i, 1);
  }

  /** Drops all running requests with status 'finished' (after a commit), keeping order. */
  sweepFinished(): void {
    let w = 0;
    for (let r = 0; r < this.running.length; r++) {
      const req = this.running[r]!;
      if (req.status === 'running') this.running[w++] = req;
    }
    this.running.length = w;
  }

  private preempt(req: CoreRequest): void {
    this.bm.free(req);
    req.numComputed = 0;
    req.promptKvTransferred = false;
    req.status = 'waiting';
    this.waiting.pushFront(req);
    this.numWaiting++;
    this.preemptions++;
  }

  /**
   * Schedules `n` tokens of `req` this step and describes them for the step-time model: a decode
   * (one new token after the whole sequence) or a prefill chunk. Reuses the work objects, so the
   * hot loop allocates nothing. Called once the request's numComputed is final for the step.
   */
  private take(req: CoreRequest, n: number): void {
    const { requests, numTokens, batch } = this.out;
    requests[this.count] = req;
    numTokens[this.count++] = n;
    if (n === 1 && req.numOutput > 0 && req.numComputed === req.numTokens - 1) {
      const w = (this.decodePool[this.numDecode] ??= { contextLength: 0 });
      w.contextLength = req.numComputed + 1;
      batch.decode[this.numDecode++] = w;
    } else {
      const w = (this.prefillPool[this.numPrefill] ??= { tokens: 0, cachedContext: 0 });
      w.tokens = n;
      w.cachedContext = req.numComputed;
      batch.prefill[this.numPrefill++] = w;
    }
  }
}

/** Drops entries past `n`. Setting `length` is a runtime call even when nothing changes, so skip that case (most steps). */
function truncate(a: unknown[], n: number): void {
  if (a.length !== n) a.length = n;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}
