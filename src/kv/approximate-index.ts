// Approximate prefix index (llm-d "approximate prefix cache"): the router has no view of the
// engines' caches, so it assumes an endpoint holds the blocks of every request it sent there.
// Per-endpoint LRU capped at the engine's num_gpu_blocks (fallback 31,250) models eviction; a
// reverse map key -> endpoints makes a lookup cost O(matched blocks), not O(endpoints x blocks).
import { LruMap } from './lru.ts';
import type { PrefixIndex } from './prefix-index.ts';

export const DEFAULT_APPROX_CAPACITY = 31_250;

export interface ApproximateIndexOptions {
  /** Blocks an endpoint is assumed to hold (its num_gpu_blocks, in index blocks). */
  capacityFor?: (endpointId: string) => number | undefined;
  /** Bound on endpoints tracked (each gets its own LRU). */
  maxEndpoints?: number;
}

export class ApproximateIndex implements PrefixIndex {
  readonly kind = 'approximate';
  private readonly perEndpoint = new Map<string, LruMap<bigint, true>>();
  private readonly holders = new Map<bigint, Set<string>>();
  private readonly options: ApproximateIndexOptions;

  constructor(options: ApproximateIndexOptions = {}) {
    this.options = options;
  }

  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], _now?: number): number[] {
    const out = new Array<number>(endpointIds.length).fill(0);
    let alive = endpointIds.map((_, i) => i);
    for (let b = 0; b < keys.length && alive.length > 0; b++) {
      const holders = this.holders.get(keys[b]!);
      if (!holders) break;
      alive = alive.filter((i) => holders.has(endpointIds[i]!));
      for (const i of alive) out[i] = b + 1;
    }
    return out;
  }

  recordDecision(endpointId: string, keys: readonly bigint[], _now?: number): void {
    const lru = this.lruFor(endpointId);
    if (!lru) return;
    for (const k of keys) {
      lru.set(k, true);
      let set = this.holders.get(k);
      if (!set) this.holders.set(k, (set = new Set()));
      set.add(endpointId);
    }
  }

  removeEndpoint(endpointId: string): void {
    const lru = this.perEndpoint.get(endpointId);
    if (!lru) return;
    for (const k of lru.keys()) this.unlink(k, endpointId);
    this.perEndpoint.delete(endpointId);
  }

  size(): number {
    let n = 0;
    for (const lru of this.perEndpoint.values()) n += lru.size;
    return n;
  }

  private lruFor(endpointId: string): LruMap<bigint, true> | undefined {
    let lru = this.perEndpoint.get(endpointId);
    if (lru) return lru;
    if (this.perEndpoint.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const cap = this.options.capacityFor?.(endpointId) ?? DEFAULT_APPROX_CAPACITY;
    lru = new LruMap<bigint, true>(Math.max(1, cap));
    lru.onEvict = (k) => this.unlink(k, endpointId);
    this.perEndpoint.set(endpointId, lru);
    return lru;
  }

  private unlink(key: bigint, endpointId: string): void {
    const set = this.holders.get(key);
    if (!set) return;
    set.delete(endpointId);
    if (set.size === 0) this.holders.delete(key);
  }
}
