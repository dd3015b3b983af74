// The contract between the twin's pure core and whatever drives it: a realtime HTTP server or the
// virtual-time cluster. The core never reads a clock and never schedules a timer; the driver asks it
// for the next step, waits `durationSeconds` (really or virtually), then commits the step.

export interface TwinRequestSpec {
  id: string;
  promptTokenIds: number[];
  maxTokens: number;
  /** Keep generating to maxTokens even if the filler emits an end token. */
  ignoreEos?: boolean;
  /** Prefix caching never shares blocks across different salts. */
  cacheSalt?: string;
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
  | { type: 'BlockStored'; blockHashes: bigint[]; parentBlockHash: bigint | null; tokenIds: number[]; blockSize: number; medium: 'GPU' }
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
}
