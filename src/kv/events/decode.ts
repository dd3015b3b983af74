// msgpack bytes -> EventBatch, for every shape vLLM has shipped: positional or map batches, positional
// or map events, hashes as uint64 / int64 / bytes, trailing defaults omitted, unknown fields and
// unknown event types ignored. Never throws: a bad message is a result, counted by the caller.
import { Decoder } from '@msgpack/msgpack';
import { normalizeBlockHash } from './hash.ts';
import type { BlockRemovedEvent, BlockStoredEvent, EventBatch, KvEvent } from './types.ts';

export type DecodeResult =
  | { ok: true; batch: EventBatch; skippedEvents: number }
  | { ok: false; error: string };

/** Bounds on what one payload may contain, so a hostile message cannot allocate without limit. */
const LIMITS = {
  maxStrLength: 1 << 20,
  maxBinLength: 1 << 20,
  maxArrayLength: 1 << 22,
  maxMapLength: 1 << 12,
};
const decoder = new Decoder({ useBigInt64: true, ...LIMITS });

/** Field names of the positional encoding, in vLLM's order (after the tag). */
const POSITIONAL: Record<string, readonly string[]> = {
  BlockStored: [
    'block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name',
    'extra_keys', 'group_idx', 'kv_cache_spec_kind', 'kv_cache_spec_sliding_window',
  ],
  BlockRemoved: ['block_hashes', 'medium', 'group_idx'],
  AllBlocksCleared: [],
};

class BadEvent extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

function int(v: unknown, field: string): number {
  const n = toNumber(v);
  if (n === undefined || !Number.isInteger(n)) throw new BadEvent(`${field} is not an integer`);
  return n;
}

function optInt(v: unknown, field: string): number | null {
  return v === undefined || v === null ? null : int(v, field);
}

function optString(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new BadEvent(`${field} is not a string`);
  return v;
}

function hashList(v: unknown): bigint[] {
  if (!Array.isArray(v)) throw new BadEvent('block_hashes is not a list');
  return v.map((h) => {
    const n = normalizeBlockHash(h);
    if (n === undefined) throw new BadEvent('block_hashes has a value that is not a hash');
    return n;
  });
}

function tokenList(v: unknown): number[] {
  if (!Array.isArray(v)) throw new BadEvent('token_ids is not a list');
  return v.map((t) => {
    const n = toNumber(t);
    if (n === undefined || !Number.isInteger(n) || n < 0) throw new BadEvent('token_ids has a value that is not a token id');
    return n;
  });
}

function blockStored(f: Record<string, unknown>): BlockStoredEvent {
  const parent = f.parent_block_hash;
  const parentBlockHash = parent === undefined || parent === null ? null : normalizeBlockHash(parent);
  if (parentBlockHash === undefined) throw new BadEvent('parent_block_hash is not a hash');
  const blockSize = int(f.block_size, 'block_size');
  if (blockSize <= 0) throw new BadEvent('block_size is not positive');
  const extra = f.extra_keys;
  return {
    type: 'BlockStored',
    blockHashes: hashList(f.block_hashes),
    parentBlockHash,
    tokenIds: tokenList(f.token_ids),
    blockSize,
    loraId: optInt(f.lora_id, 'lora_id'),
    medium: optString(f.medium, 'medium'),
    loraName: optString(f.lora_name, 'lora_name'),
    extraKeys: Array.isArray(extra) ? extra : null,
    groupIdx: optInt(f.group_idx, 'group_idx'),
    kvCacheSpecKind: optString(f.kv_cache_spec_kind, 'kv_cache_spec_kind'),
    kvCacheSpecSlidingWindow: optInt(f.kv_cache_spec_sliding_window, 'kv_cache_spec_sliding_window'),
  };
}

function blockRemoved(f: Record<string, unknown>): BlockRemovedEvent {
  return {
    type: 'BlockRemoved',
    blockHashes: hashList(f.block_hashes),
    medium: optString(f.medium, 'medium'),
    groupIdx: optInt(f.group_idx, 'group_idx'),
  };
}

/** Turns either event encoding into named fields; undefined for an unknown or untagged event. */
function eventFields(raw: unknown): { tag: string; fields: Record<string, unknown> } | undefined {
  if (Array.isArray(raw)) {
    const tag = raw[0];
    if (typeof tag !== 'string' || !(tag in POSITIONAL)) return undefined;
    const fields: Record<string, unknown> = {};
    POSITIONAL[tag]!.forEach((name, i) => { fields[name] = raw[i + 1]; });
    return { tag, fields };
  }
  if (isRecord(raw)) {
    const tag = raw.type;
    if (typeof tag !== 'string' || !(tag in POSITIONAL)) return undefined;
    return { tag, fields: raw };
  }
  return undefined;
}

function decodeEvent(raw: unknown): KvEvent | undefined {
  const parsed = eventFields(raw);
  if (!parsed) return undefined;
  if (parsed.tag === 'BlockStored') return blockStored(parsed.fields);
  if (parsed.tag === 'BlockRemoved') return blockRemoved(parsed.fields);
  return { type: 'AllBlocksCleared' };
}

export function decodeEventBatch(payload: Uint8Array): DecodeResult {
  let raw: unknown;
  try {
    raw = decoder.decode(payload);
  } catch (err) {
    return { ok: false, error: `not msgpack: ${(err as Error).message}` };
  }
  let ts: unknown, rawEvents: unknown, dpRank: unknown;
  if (Array.isArray(raw)) [ts, rawEvents, dpRank] = raw;
  else if (isRecord(raw)) ({ ts, events: rawEvents, data_parallel_rank: dpRank } = raw);
  else return { ok: false, error: 'batch is neither an array nor a map' };

  const tsNum = toNumber(ts);
  if (tsNum === undefined) return { ok: false, error: 'batch ts is not a number' };
  if (!Array.isArray(rawEvents)) return { ok: false, error: 'batch events is not a list' };
  const rank = dpRank === undefined || dpRank === null ? null : toNumber(dpRank);
  if (rank === undefined) return { ok: false, error: 'batch data_parallel_rank is not a number' };

  const events: KvEvent[] = [];
  let skippedEvents = 0;
  for (const e of rawEvents) {
    try {
      const ev = decodeEvent(e);
      if (ev) events.push(ev);
      else skippedEvents++;
    } catch {
      skippedEvents++; // a BadEvent, or anything else one malformed event could trigger
    }
  }
  return { ok: true, batch: { ts: tsNum, events, dataParallelRank: rank }, skippedEvents };
}
