// The contract between the twin's pure core and whatever drives it: a realtime HTTP server or the
// virtual-time cluster. The core never reads a clock and never schedules a timer; the driver asks it
// for the next step, waits `durationSeconds` (really or virtually), then commits the step.

export interface TwinRequestSpec {
  id: string;
  /** Copied by add(): the caller may reuse the array afterwards. */
  promptTokenIds: readonly number[] | Uint32Array;
  maxTokens: number;
  /** Keep generating to maxTokens even if the filler emits an end token. */
  ignoreEos?: boolean;
  /** Prefix caching never shares blocks across different salts. */
  cacheSalt?: string;
  /** The LoRA adapter serving it: its KV differs from the base model's, so its blocks are keyed apart. */
  lora?: string;
  /**
   * The prompt's full-block prefix-cache keys at this core's block size under `cacheSalt`, exactly
   * as `hashBlocks` computes them, when the caller already has them (the virtual cluster shares the
   * router's), so the core does not hash the prompt a second time. Copied by add().
   */
  promptBlockKeys?: readonly bigint[];
  /** Arrival time on the driver's clock, in seconds. */
  arrivalTime: number;
}

export type FinishReason = 'stop' | 'length' | 'abort' | 'rejected';

export interface TwinRequestObserver {
  /** A new output token was produced at `time` (seconds on the driver's clock). */
  onToken(tokenId: number, time: number): void;
  onFinish(reason: FinishReason, time: number, info: { cachedPromptTokens: number; message?: string }): void;
}

/** A planned iteration: what it will compute and how long it will take. */
export interface PlannedStep {
  durationSeconds: number;
  prefillTokens: number;
  decodeSequences: number;
}

/** Block-level cache changes, in the order they happened; the KV event publisher serialises these. */
export type KvCacheEvent =
  | {
      type: 'BlockStored';
      blockHashes: bigint[];
      parentBlockHash: bigint | null;
      /** The blocks' token ids; empty from a core made with kvEventTokenIds: false. */
      tokenIds: number[];
      blockSize: number;
      medium: 'GPU';
      /**
       * Per block, as vLLM's extra_keys: an adapter's blocks carry [adapter], and a salted request's
       * first block the salt after it; other blocks null. Absent when no block of the event needs one.
       */
      extraKeys?: (string[] | null)[];
      /** The LoRA adapter the blocks were computed with (vLLM's lora_name). */
      loraName?: string;
    }
  | { type: 'BlockRemoved'; blockHashes: bigint[]; medium: 'GPU' }
  | { type: 'AllBlocksCleared' };

export interface TwinStats {
  waiting: number;
  running: number;
  kvUsage: number; // 0..1 of GPU blocks in use (held by running requests)
  numGpuBlocks: number;
  blockSize: number;
  prefixQueriedTokens: number; // cumulative
  prefixHitTokens: number; // cumulative
  preemptions: number; // cumulative
  promptTokens: number; // cumulative
  generationTokens: number; // cumulative
  /** Finished prefill-role requests still holding their blocks until release(). */
  heldRequests?: number;
  /** KV events dropped because the buffer was full between drains (cumulative). */
  kvEventsDropped?: number;
  /** LoRA adapters of the running and waiting requests, and the most one step batches (vLLM's lora_requests_info). */
  lora: { running: string[]; waiting: string[]; max: number };
}

/** Extra request options for prefill/decode disaggregation (vLLM NixlConnector semantics). */
export interface TwinDisaggOptions {
  /** Prefill role: after finishing, keep the prompt's blocks referenced until release(id) is called. */
  holdBlocksAfterFinish?: boolean;
  /** Decode role: the prompt's KV arrives by transfer; allocate its blocks without prefill compute. */
  promptKvTransferred?: boolean;
}

/**
 * The twin's pure core. The driver (realtime server or virtual cluster) owns the clock:
 *   plan = core.planStep(now); wait plan.durationSeconds; core.commitStep(now + duration)
 * Observers are called synchronously from add/abort/commitStep.
 */
export interface TwinCore {
  add(spec: TwinRequestSpec & TwinDisaggOptions, observer: TwinRequestObserver): void;
  /** Ends a request with 'abort'; `message` (optional) is passed to its observer. */
  abort(id: string, time: number, message?: string): void;
  /** Frees blocks held by a finished prefill-role request (decode pulled them, or the hold timed out). */
  release(id: string): void;
  hasWork(): boolean;
  planStep(time: number): PlannedStep | null;
  commitStep(time: number): void;
  /** Cache changes since the last call, oldest first. */
  drainKvEvents(): KvCacheEvent[];
  stats(): TwinStats;
}
