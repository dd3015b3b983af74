// EventBatch -> msgpack bytes as vLLM's msgspec structs write them (array_like, tag, omit_defaults):
// in the array encoding trailing fields still at their default (None) are left out; in the map
// encoding every field at its default is left out. Hashes go out as uint64 (what vLLM emits with
// the xxhash / builtin hash algorithms).
import { Encoder } from '@msgpack/msgpack';
import type { EventBatch, KvEvent, KvEventEncoding } from './types.ts';

const encoder = new Encoder({ useBigInt64: true });

/** vLLM's field order; `required` fields have no default in vLLM's struct, so they are always written. */
type Field = readonly [name: string, required: boolean];
const BLOCK_STORED: readonly Field[] = [
  ['block_hashes', true], ['parent_block_hash', true], ['token_ids', true], ['block_size', true],
  ['lora_id', true], ['medium', true], ['lora_name', true], ['extra_keys', false], ['group_idx', false],
  ['kv_cache_spec_kind', false], ['kv_cache_spec_sliding_window', false],
];
const BLOCK_REMOVED: readonly Field[] = [['block_hashes', true], ['medium', true], ['group_idx', false]];

function fieldValues(event: KvEvent): { fields: readonly Field[]; values: Record<string, unknown> } {
  switch (event.type) {
    case 'BlockStored':
      return {
        fields: BLOCK_STORED,
        values: {
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
        },
      };
    case 'BlockRemoved':
      return { fields: BLOCK_REMOVED, values: { block_hashes: event.blockHashes, medium: event.medium ?? 'GPU', group_idx: event.groupIdx ?? 0 } };
    case 'AllBlocksCleared':
      return { fields: [], values: {} };
  }
}

/** One event as msgspec writes a tagged struct: `[tag, ...fields]` or `{type: tag, ...fields}`. */
export function eventToWire(event: KvEvent, encoding: KvEventEncoding): unknown {
  const { fields, values } = fieldValues(event);
  const isDefault = ([name, required]: Field) => !required && values[name] === null;
  if (encoding === 'array') {
    let end = fields.length;
    while (end > 0 && isDefault(fields[end - 1]!)) end--;
    return [event.type, ...fields.slice(0, end).map(([name]) => values[name])];
  }
  const map: Record<string, unknown> = { type: event.type };
  for (const f of fields) if (!isDefault(f)) map[f[0]] = values[f[0]];
  return map;
}

export function encodeEventBatch(batch: EventBatch, encoding: KvEventEncoding): Uint8Array {
  const events = batch.events.map((e) => eventToWire(e, encoding));
  const dpRank = batch.dataParallelRank ?? null; // default None: omitted like the other defaults
  const wire = encoding === 'array'
    ? (dpRank === null ? [batch.ts, events] : [batch.ts, events, dpRank])
    : (dpRank === null ? { ts: batch.ts, events } : { ts: batch.ts, events, data_parallel_rank: dpRank });
  return encoder.encode(wire);
}
