// How vLLM's BlockStored metadata maps onto our token-based keys (twin/core/block-hash.ts): the
// namespace a chain starts in (LoRA adapter, cache_salt), blocks that hold media, and which KV
// cache group of a hybrid model bounds a prefix hit. The precise index derives every key through
// these, so what it cannot tell apart keys blocks no request matches: a missed hit, never a hit
// across adapters, salts or images.
import { rootHash } from '../twin/core/block-hash.ts';
import type { BlockStoredEvent } from './events/types.ts';

/** Kinds of KV cache group whose blocks bound a prefix hit (a missing kind: an engine with one group). */
const FULL_ATTENTION_KINDS: ReadonlySet<string> = new Set(['full_attention', 'mla_attention', 'sink_full_attention']);

/** Mixed into the parent of a block that holds media, so that no text-only request matches it. */
const MEDIA_MARK = 0x6d65646961n; // "media"

export function isFullAttentionGroup(event: BlockStoredEvent): boolean {
  return event.kvCacheSpecKind == null || FULL_ATTENTION_KINDS.has(event.kvCacheSpecKind);
}

/** The adapter the event's blocks were computed with; one known only by an old release's int id gets a name no request carries. */
function adapterOf(event: BlockStoredEvent): string | undefined {
  return event.loraName ?? ((event.loraId ?? 0) > 0 ? `\u0000lora-id ${event.loraId}` : undefined);
}

function extraKeyCount(extra: unknown): number {
  return Array.isArray(extra) ? extra.length : extra == null ? 0 : 1;
}

/**
 * Our root key for an event's first block, from the namespace vLLM hashed it under: its extra keys
 * are the LoRA adapter's (name, or an old release's int id), then multimodal keys, then cache_salt
 * (first block only, so last). Multimodal keys without a salt give a root no request matches.
 */
export function rootKeyOf(event: BlockStoredEvent): bigint {
  const first = event.extraKeys?.[0];
  const keys: unknown[] = Array.isArray(first) ? first : typeof first === 'string' ? [first] : [];
  const adapter = adapterOf(event);
  const rest = adapter !== undefined ? keys.slice(1) : keys;
  const last = rest.at(-1);
  return rootHash(last === undefined ? undefined : typeof last === 'string' ? last : '\u0000unmatched', adapter);
}

/**
 * The parent key to chain block `i` on (not a chain's first block): `parent` itself, unless the
 * block's extra keys hold more than the adapter, which is media (an image's hash). Its placeholder
 * tokens say nothing of which image, so it and its descendants key apart.
 */
export function parentKeyOf(event: BlockStoredEvent, i: number, parent: bigint): bigint {
  const adapterKeys = adapterOf(event) !== undefined ? 1 : 0;
  return extraKeyCount(event.extraKeys?.[i]) > adapterKeys ? parent ^ MEDIA_MARK : parent;
}
