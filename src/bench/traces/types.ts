// A request replayed from a trace. Token ids are produced on demand so a trace of 12,000 long
// prompts never sits in memory at once (Mooncake averages 12k tokens per prompt).

export interface TraceRequest {
  id: string;
  /** Arrival, seconds from the start of the trace. */
  arrival: number;
  promptTokens: number;
  outputTokens: number;
  /**
   * The prompt's token ids (deterministic: the same request gives the same ids every call). With
   * an `into` at least `promptTokens` long, they are written at its start and a view of them is
   * returned, so a caller that does not keep the ids can reuse one buffer for every request.
   */
  tokenIds(into?: Uint32Array): Uint32Array;
  /** Prefix block ids when the trace has them (Mooncake hash_ids) and their block size in tokens. */
  prefixBlocks?: { ids: readonly number[]; blockTokens: number };
}

export interface Trace {
  name: string;
  format: TraceFormat;
  /** Sorted by arrival. */
  requests: TraceRequest[];
}

export type TraceFormat = 'mooncake' | 'azure' | 'sharegpt-ids' | 'lengths';

export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFormatError';
  }
}
