// Approximate prefix index (llm-d "approximate prefix cache"): the router has no view of the
// engines' caches, so it assumes an endpoint holds the blocks of every request it sent there.
// Per-endpoint LRU capped at the engine's num_gpu_blocks (fallback 31,250) models eviction; a
// reverse map key -> endpoints makes a lookup cost O(matched blocks), not O(endpoints x blocks);
// endpoints are small slots, so a key's holders are usually one bitmask number, not a Set.
import { LruMap } from './lru.ts';
import type { PrefixIndex } from './prefix-index.ts';

export const DEFAULT_APPROX_CAPACITY = 31_250;

export interface ApproximateIndexOptions {
  /** Blocks an endpoint is assumed to hold (its num_gpu_blocks, in index blocks). */
  capacityFor?: (endpointId: string) => number | undefined;
  /** Bound on endpoints tracked (each gets its own LRU). */
  maxEndpoints?: number;
}

/** Holders of one key: a bitmask of endpoint slots 0-30 (the common case, no allocation), or a set of slots. */
type Holders = number | Set<number>;
const MASK_SLOTS = 31;

export class ApproximateIndex implements PrefixIndex {
  readonly kind = 'approximate';
  private readonly perEndpoint = new Map<string, { slot: number; lru: LruMap<bigint, true> }>();
  private readonly holders = new Map<bigint, Holders>();
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
      const h = this.holders.get(keys[b]!);
      if (h === undefined) break;
      alive = alive.filter((i) => holds(h, slots[i]!));
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
      lru.set(k, true);
      const h = this.holders.get(k);
      if (bit !== 0 && (h === undefined || typeof h === 'number')) {
        if (h === undefined || (h & bit) === 0) this.holders.set(k, (h ?? 0) | bit);
      } else this.holders.set(k, withSlot(h, slot));
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

  private endpointFor(endpointId: string): { slot: number; lru: LruMap<bigint, true> } | undefined {
    let ep = this.perEndpoint.get(endpointId);
    if (ep) return ep;
    if (this.perEndpoint.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const cap = this.options.capacityFor?.(endpointId) ?? DEFAULT_APPROX_CAPACITY;
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    const lru = new LruMap<bigint, true>(Math.max(1, cap));
    lru.onEvict = (k) => this.unlink(k, slot);
    ep = { slot, lru };
    this.perEndpoint.set(endpointId, ep);
    return ep;
  }

  private unlink(key: bigint, slot: number): void {
    const h = this.holders.get(key);
    if (h === undefined) return;
    if (typeof h === 'number') {
      const left = slot < MASK_SLOTS ? h & ~(1 << slot) : h;
      if (left === 0) this.holders.delete(key);
      else if (left !== h) this.holders.set(key, left);
      return;
    }
    h.delete(slot);
    if (h.size === 0) this.holders.delete(key);
  }
}

function holds(h: Holders, slot: number): boolean {
  return typeof h === 'number' ? slot < MASK_SLOTS && (h & (1 << slot)) !== 0 : h.has(slot);
}

/** `h` plus `slot`, as a set (a bitmask cannot name slot 31 and above). */
function withSlot(h: Holders | undefined, slot: number): Set<number> {
  let set: Set<number>;
  if (h instanceof Set) set = h;
  else {
    set = new Set();
    for (let s = 0; h !== undefined && s < MASK_SLOTS; s++) if (h & (1 << s)) set.add(s);
  }
  set.add(slot);
  return set;
}
