// Approximate prefix index (llm-d "approximate prefix cache"): the router has no view of the
// engines' caches, so it assumes an endpoint holds the blocks of every request it sent there.
// Per-endpoint LRU capped at the engine's num_gpu_blocks (fallback 31,250) models eviction; a
// reverse table key -> endpoints makes a lookup cost O(matched blocks), not O(endpoints x blocks);
// endpoints are small slots, so a key's holders are usually one bitmask word, not a Set. Both sit
// in typed arrays (u64-lru.ts, u64-table.ts): Maps over BigInt keys were half of an llm-d simulation.
import type { PrefixIndex } from './prefix-index.ts';
import { U64LruSet } from './u64-lru.ts';
import { U64Table } from './u64-table.ts';

export const DEFAULT_APPROX_CAPACITY = 31_250;

export interface ApproximateIndexOptions {
  /** Blocks an endpoint is assumed to hold (its num_gpu_blocks, in index blocks). */
  capacityFor?: (endpointId: string) => number | undefined;
  /** Bound on endpoints tracked (each gets its own LRU). */
  maxEndpoints?: number;
}

// A key's holders: a bitmask of endpoint slots 0-30 in the table's value word (the common case,
// no allocation), or SHARED there and a set of slots in `holderSets` once a slot of 31 or more holds it.
const MASK_SLOTS = 31;
const SHARED = 0x8000_0000;

export class ApproximateIndex implements PrefixIndex {
  readonly kind = 'approximate';
  private readonly perEndpoint = new Map<string, { slot: number; lru: U64LruSet }>();
  private readonly holders = new U64Table(4096);
  private readonly holderSets = new Map<bigint, Set<number>>();
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
  private readonly options: ApproximateIndexOptions;

  constructor(options: ApproximateIndexOptions = {}) {
    this.options = options;
  }

  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], _now?: number): number[] {
    const out = new Array<number>(endpointIds.length).fill(0);
    const slots = endpointIds.map((id) => this.perEndpoint.get(id)?.slot ?? -1);
    let alive = endpointIds.map((_, i) => i).filter((i) => slots[i]! >= 0);
    for (let b = 0; b < keys.length && alive.length > 0; b++) {
      const k = keys[b]!;
      const h = this.holders.get(k);
      if (h === 0) break;
      const set = h & SHARED ? this.holderSets.get(k)! : undefined;
      alive = alive.filter((i) => (set ? set.has(slots[i]!) : slots[i]! < MASK_SLOTS && (h & (1 << slots[i]!)) !== 0));
      for (const i of alive) out[i] = b + 1;
    }
    return out;
  }

  recordDecision(endpointId: string, keys: readonly bigint[], _now?: number): void {
    const ep = this.endpointFor(endpointId);
    if (!ep) return;
    const { slot, lru } = ep;
    const bit = slot < MASK_SLOTS ? 1 << slot : 0;
    for (const k of keys) {
      const evicted = lru.touch(k);
      if (evicted !== undefined) this.unlink(evicted, slot);
      const at = this.holders.indexOf(k);
      if (at < 0) {
        if (bit !== 0) this.holders.set(k, bit);
        else this.share(k, 0, slot);
        continue;
      }
      const h = this.holders.valueAt(at);
      if (h & SHARED) this.holderSets.get(k)!.add(slot);
      else if (bit === 0) this.share(k, h, slot);
      else if ((h & bit) === 0) this.holders.setValueAt(at, h | bit);
    }
  }

  removeEndpoint(endpointId: string): void {
    const ep = this.perEndpoint.get(endpointId);
    if (!ep) return;
    for (const k of ep.lru.keys()) this.unlink(k, ep.slot);
    this.perEndpoint.delete(endpointId);
    this.freeSlots.push(ep.slot);
  }

  size(): number {
    let n = 0;
    for (const ep of this.perEndpoint.values()) n += ep.lru.size;
    return n;
  }

  private endpointFor(endpointId: string): { slot: number; lru: U64LruSet } | undefined {
    let ep = this.perEndpoint.get(endpointId);
    if (ep) return ep;
    if (this.perEndpoint.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const cap = this.options.capacityFor?.(endpointId) ?? DEFAULT_APPROX_CAPACITY;
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    ep = { slot, lru: new U64LruSet(Math.max(1, cap)) };
    this.perEndpoint.set(endpointId, ep);
    return ep;
  }

  /** `key`'s holders become a set: its bitmask `mask` plus `slot` (a bitmask cannot name slot 31 and above). */
  private share(key: bigint, mask: number, slot: number): void {
    const set = new Set<number>();
    for (let s = 0; s < MASK_SLOTS; s++) if (mask & (1 << s)) set.add(s);
    set.add(slot);
    this.holderSets.set(key, set);
    this.holders.set(key, SHARED);
  }

  private unlink(key: bigint, slot: number): void {
    const at = this.holders.indexOf(key);
    if (at < 0) return;
    const h = this.holders.valueAt(at);
    if (h & SHARED) {
      const set = this.holderSets.get(key)!;
      set.delete(slot);
      if (set.size > 0) return;
      this.holderSets.delete(key);
      this.holders.deleteAt(at);
      return;
    }
    const left = slot < MASK_SLOTS ? h & ~(1 << slot) : h;
    if (left === 0) this.holders.deleteAt(at);
    else if (left !== h) this.holders.setValueAt(at, left);
  }
}
