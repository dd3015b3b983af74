// The trace's infinite-cache ceiling on the prefix hit rate, in tokens: with unlimited capacity and
// one global cache, the fraction of prompt tokens whose full block was already seen as a prefix.
// Mooncake uses its 512-token hash ids; other traces hash their token ids in `blockSize` blocks.
import { hashBlocks } from '../../twin/core/block-hash.ts';
import type { TraceRequest } from './types.ts';

export function ceilingHitRate(requests: readonly TraceRequest[], blockSize: number): number {
  const seen = new Set<number | bigint>();
  let total = 0;
  let hit = 0;
  for (const r of requests) {
    total += r.promptTokens;
    const keys: readonly (number | bigint)[] = r.prefixBlocks ? r.prefixBlocks.ids : hashBlocks(r.tokenIds(), blockSize);
    const blockTokens = r.prefixBlocks ? r.prefixBlocks.blockTokens : blockSize;
    let run = 0;
    while (run < keys.length && seen.has(keys[run]!)) run++;
    // Only full blocks are cacheable; the engine also recomputes at least the last token.
    hit += Math.min(run * blockTokens, Math.floor((r.promptTokens - 1) / blockSize) * blockSize);
    for (const k of keys) seen.add(k);
  }
  return total > 0 ? hit / total : 0;
}
