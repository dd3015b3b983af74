// vLLM's KV-cache event model (vllm/distributed/kv_events.py), as both our publisher writes it and
// our decoder reads it. Hashes are normalised to unsigned 64-bit bigints on decode; everything past
// the first four BlockStored fields is optional because vLLM grew the schema over releases.

export interface BlockStoredEvent {
  type: 'BlockStored';
  blockHashes: bigint[];
  parentBlockHash: bigint | null;
  /** Tokens of all blocks of the event, concatenated. */
  tokenIds: number[];
  blockSize: number;
  loraId?: number | null;
  /** "GPU", "CPU", ...; null means GPU. */
  medium?: string | null;
  loraName?: string | null;
  /** Per block: cache_salt, LoRA, multimodal ids. Opaque to us. */
  extraKeys?: unknown[] | null;
  groupIdx?: number | null;
  kvCacheSpecKind?: string | null;
  kvCacheSpecSlidingWindow?: number | null;
}

export interface BlockRemovedEvent {
  type: 'BlockRemoved';
  blockHashes: bigint[];
  medium?: string | null;
  groupIdx?: number | null;
}

export interface AllBlocksClearedEvent {
  type: 'AllBlocksCleared';
}

export type KvEvent = BlockStoredEvent | BlockRemovedEvent | AllBlocksClearedEvent;

export interface EventBatch {
  /** Seconds since the epoch, as the engine saw it. */
  ts: number;
  events: KvEvent[];
  dataParallelRank?: number | null;
}

/** vLLM PR #42892 (June 2026) moved events from positional arrays to maps; peers speak either. */
export type KvEventEncoding = 'array' | 'map';
