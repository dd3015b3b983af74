// EventBatch -> msgpack bytes exactly as vLLM's msgspec encoder writes it, in either encoding.
// Hashes go out as uint64 (what vLLM emits with the xxhash / builtin hash algorithms).
import { Encoder } from '@msgpack/msgpack';
import type { EventBatch, KvEvent, KvEventEncoding } from './types.ts';

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });

// vLLM's field order for the positional encoding; the map encoding uses the same names as keys.
const BLOCK_STORED_FIELDS = [
  'block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name',
  'extra_keys', 'group_idx', 'kv_cache_spec_kind', 'kv_cache_spec_sliding_window',
] as const;
const BLOCK_REMOVED_FIELDS = ['block_hashes', 'medium', 'group_idx'] as const;

function fieldValues(event: KvEvent): Record<string, unknown> {
  switch (event.type) {
    case 'BlockStored':
      return {
        block_hashes: event.blockHashes,
        parent_block_hash: event.parentBlockHash,
        token_ids: event.tokenIds,
        block_size: event.blockSize,
        lora_id: event.loraId ?? null,
        medium: event.medium ?? 'GPU',
        lora_name: event.loraName ?? null,
        extra_keys: event.extraKeys ?? null,
        group_idx: event.groupIdx ?? 0,
        kv_cache_spec_kind: event.kvCacheSpecKind ?? null,
        kv_cache_spec_sliding_window: event.kvCacheSpecSlidingWindow ?? null,
      };
    case 'BlockRemoved':
      return { block_hashes: event.blockHashes, medium: event.medium ?? 'GPU', group_idx: event.groupIdx ?? 0 };
    case 'AllBlocksCleared':
      return {};
  }
}

function fieldOrder(event: KvEvent): readonly string[] {
  if (event.type === 'BlockStored') return BLOCK_STORED_FIELDS;
  if (event.type === 'BlockRemoved') return BLOCK_REMOVED_FIELDS;
  return [];
}

/** One event as msgspec writes a tagged struct: `[tag, ...fields]` or `{type: tag, ...fields}`. */
export function eventToWire(event: KvEvent, encoding: KvEventEncoding): unknown {
  const values = fieldValues(event);
  const order = fieldOrder(event);
  if (encoding === 'array') return [event.type, ...order.map((k) => values[k])];
  const map: Record<string, unknown> = { type: event.type };
  for (const k of order) map[k] = values[k];
  return map;
}

export function encodeEventBatch(batch: EventBatch, encoding: KvEventEncoding): Uint8Array {
  const events = batch.events.map((e) => eventToWire(e, encoding));
  const dpRank = batch.dataParallelRank ?? null;
  const wire = encoding === 'array'
    ? [batch.ts, events, dpRank]
    : { ts: batch.ts, events, data_parallel_rank: dpRank };
  return encoder.encode(wire);
}
