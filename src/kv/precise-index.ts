// Precise prefix index (llm-d precise prefix cache, Dynamo KV indexer): fed by the engines' own KV
// events, so it knows what each engine really holds. Engine block hashes depend on engine version,
// flags and seeds, so lookups use OUR token-based keys (twin/core/block-hash.ts) and the engine hash
// is kept only as an opaque id mapped to our key when BlockStored arrives (the dual key), to
// resolve BlockRemoved and parent hashes later. Between a routing decision and the engine's event,
// speculative entries with a TTL stand in for the blocks the request is about to store.
//
// Hot path layout (the simulator pushes millions of events through it): each endpoint gets a small
// integer slot; a key's holders are one number `slot * 4 + tierBits` in the common single-holder
// case, or an array of them. Speculative entries are whole decisions (the request's key array),
// since chained keys make "holds block i" imply "holds blocks 0..i".
import { chainBlockHash, rootHash } from '../twin/core/block-hash.ts';
import type { KvEvent } from './events/types.ts';
import type { PrefixIndex } from './prefix-index.ts';

const GPU = 1;
const CPU = 2;

export interface PreciseIndexOptions {
  /** Weight of a block held only in a CPU (offload) tier; GPU blocks weigh 1 (llm-d: 0.8). */
  cpuWeight?: number;
  /** How long a decision-based entry counts before the engine's event must confirm it (llm-d: 2 s). */
  speculativeTtlSeconds?: number;
  /** Bound on engine blocks remembered per endpoint (a lost BlockRemoved must not leak forever). */
  maxBlocksPerEndpoint?: number;
  /** Bound on speculative decisions remembered per endpoint. */
  maxSpeculativePerEndpoint?: number;
  maxEndpoints?: number;
  /**
   * The engines hash blocks with our own chained key (twin/core/block-hash.ts, e.g. the twin), so
   * their block hashes ARE our keys: skip re-hashing the tokens. Never set this for vLLM.
   */
  engineHashesAreKeys?: boolean;
}

interface Speculation {
  keys: readonly bigint[];
  expires: number;
}

interface EndpointState {
  slot: number;
  /** Distinct blocks this endpoint holds in the index (any tier). */
  blocks: number;
  /** engine hash -> our key, oldest first; bounded (oldest dropped). Unused when engine hashes are our keys. */
  engineToKey: Map<bigint, bigint>;
  /** Recent decisions, oldest first; bounded. */
  speculative: Speculation[];
}

export interface PreciseIndexStats {
  storedBlocks: number;
  removedBlocks: number;
  unknownRemovals: number;
  clears: number;
}

type Holders = number | number[]; // slot * 4 + tier bits

export class PreciseIndex implements PrefixIndex {
  readonly kind = 'precise';
  readonly stats: PreciseIndexStats = { storedBlocks: 0, removedBlocks: 0, unknownRemovals: 0, clears: 0 };
  private readonly holders = new Map<bigint, Holders>();
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly freeSlots: number[] = [];
  private readonly cpuWeight: number;
  private readonly ttl: number;
  private readonly maxBlocks: number;
  private readonly maxSpeculative: number;
  private readonly options: PreciseIndexOptions;

  constructor(options: PreciseIndexOptions = {}) {
    this.options = options;
    this.cpuWeight = options.cpuWeight ?? 0.8;
    this.ttl = options.speculativeTtlSeconds ?? 2;
    this.maxBlocks = options.maxBlocksPerEndpoint ?? 1_000_000;
    this.maxSpeculative = options.maxSpeculativePerEndpoint ?? 1024;
  }

  /** Apply one engine event from `endpointId`, in publish order. */
  applyEvent(endpointId: string, event: KvEvent): void {
    const st = this.state(endpointId);
    if (!st) return;
    if (event.type === 'AllBlocksCleared') {
      this.stats.clears++;
      this.clearEndpoint(st);
      return;
    }
    const tier = event.medium == null || event.medium === 'GPU' ? GPU : CPU;
    const trusted = this.options.engineHashesAreKeys === true;
    if (event.type === 'BlockRemoved') {
      for (const h of event.blockHashes) {
        if (trusted) {
          if (this.holds(h, st.slot)) this.stats.removedBlocks++;
          else this.stats.unknownRemovals++;
          this.unsetTier(h, st, tier);
          continue;
        }
        const key = st.engineToKey.get(h);
        if (key === undefined) {
          this.stats.unknownRemovals++;
          continue;
        }
        this.stats.removedBlocks++;
        if (this.unsetTier(key, st, tier) === 0) st.engineToKey.delete(h);
      }
      return;
    }
    // BlockStored: derive our key for each block from its tokens, chained on the parent's key.
    // A parent we never saw (events lost before we subscribed) is used as-is: that is exactly right
    // for engines that hash like we do (the twin) and merely unmatched for others.
    let parent: bigint;
    if (event.parentBlockHash === null) parent = rootHash(saltOf(event.extraKeys));
    else parent = st.engineToKey.get(event.parentBlockHash) ?? event.parentBlockHash;
    const bs = event.blockSize;
    // Bounded. With a mapping kept, the oldest mappings are dropped below; with trusted hashes there
    // is no age order, so an endpoint about to exceed its bound is cleared and rebuilt by new events.
    if (trusted && st.blocks + event.blockHashes.length > this.maxBlocks) this.clearEndpoint(st);
    for (let i = 0; i < event.blockHashes.length; i++) {
      if ((i + 1) * bs > event.tokenIds.length) break; // malformed: fewer tokens than blocks
      const h = event.blockHashes[i]!;
      const key = trusted ? h : chainBlockHash(parent, event.tokenIds, i * bs, bs);
      if (!trusted) st.engineToKey.set(h, key);
      this.setTier(key, st, tier);
      this.stats.storedBlocks++;
      parent = key;
    }
    while (st.engineToKey.size > this.maxBlocks) {
      const [h, key] = st.engineToKey.entries().next().value as [bigint, bigint];
      st.engineToKey.delete(h);
      this.unsetTier(key, st, GPU | CPU);
    }
  }

  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], now: number): number[] {
    const n = endpointIds.length;
    const out = new Array<number>(n).fill(0);
    const slots = endpointIds.map((id) => this.endpoints.get(id)?.slot ?? -1);
    const alive = slots.map((s) => s >= 0);
    let aliveCount = alive.filter(Boolean).length;
    const confirmedRun = new Array<number>(n).fill(0);
    for (let b = 0; b < keys.length && aliveCount > 0; b++) {
      const v = this.holders.get(keys[b]!);
      for (let i = 0; i < n; i++) {
        if (!alive[i]) continue;
        const bits = v === undefined ? 0 : bitsOf(v, slots[i]!);
        if (bits === 0) {
          alive[i] = false;
          aliveCount--;
          continue;
        }
        out[i]! += bits & GPU ? 1 : this.cpuWeight;
        confirmedRun[i] = b + 1;
      }
    }
    // A recent decision covers a prefix too; chained keys make the longer run the match.
    for (let i = 0; i < n; i++) {
      const st = this.endpoints.get(endpointIds[i]!);
      if (!st) continue;
      let best = 0;
      for (const s of st.speculative) if (s.expires > now) best = Math.max(best, commonPrefix(s.keys, keys));
      if (best > confirmedRun[i]!) out[i] = out[i]! + (best - confirmedRun[i]!);
    }
    return out;
  }

  recordDecision(endpointId: string, keys: readonly bigint[], now: number): void {
    const st = this.state(endpointId);
    if (!st || keys.length === 0) return;
    const spec = st.speculative;
    while (spec.length > 0 && (spec[0]!.expires <= now || spec.length >= this.maxSpeculative)) spec.shift();
    spec.push({ keys, expires: now + this.ttl });
  }

  removeEndpoint(endpointId: string): void {
    const st = this.endpoints.get(endpointId);
    if (!st) return;
    this.clearEndpoint(st);
    this.endpoints.delete(endpointId);
    this.freeSlots.push(st.slot);
  }

  size(): number {
    let n = 0;
    for (const st of this.endpoints.values()) n += st.blocks;
    return n;
  }

  private state(endpointId: string): EndpointState | undefined {
    let st = this.endpoints.get(endpointId);
    if (st) return st;
    if (this.endpoints.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const slot = this.freeSlots.pop() ?? this.endpoints.size;
    st = { slot, blocks: 0, engineToKey: new Map(), speculative: [] };
    this.endpoints.set(endpointId, st);
    return st;
  }

  private clearEndpoint(st: EndpointState): void {
    if (this.options.engineHashesAreKeys) {
      const slot = st.slot;
      for (const key of [...this.holders.keys()]) if (bitsOf(this.holders.get(key)!, slot)) this.unsetTier(key, st, GPU | CPU);
    } else for (const key of st.engineToKey.values()) this.unsetTier(key, st, GPU | CPU);
    st.engineToKey.clear();
    st.blocks = 0;
    st.speculative.length = 0;
  }

  private holds(key: bigint, slot: number): boolean {
    const v = this.holders.get(key);
    return v !== undefined && bitsOf(v, slot) !== 0;
  }

  private setTier(key: bigint, st: EndpointState, tier: number): void {
    const slot = st.slot;
    const v = this.holders.get(key);
    const mine = slot * 4 + tier;
    if (v === undefined) this.holders.set(key, mine);
    else if (typeof v === 'number') {
      if (v >> 2 === slot) {
        this.holders.set(key, v | tier);
        return;
      }
      this.holders.set(key, [v, mine]);
    } else {
      for (let i = 0; i < v.length; i++) {
        if (v[i]! >> 2 === slot) {
          v[i] = v[i]! | tier;
          return;
        }
      }
      v.push(mine);
    }
    st.blocks++;
  }

  /** Clears tier bits of the endpoint on `key`; returns the bits it has left there. */
  private unsetTier(key: bigint, st: EndpointState, tier: number): number {
    const slot = st.slot;
    const v = this.holders.get(key);
    if (v === undefined) return 0;
    if (typeof v === 'number') {
      if (v >> 2 !== slot) return 0;
      const bits = v & 3 & ~tier;
      if (bits === 0) {
        this.holders.delete(key);
        st.blocks--;
      } else this.holders.set(key, slot * 4 + bits);
      return bits;
    }
    for (let i = 0; i < v.length; i++) {
      if (v[i]! >> 2 !== slot) continue;
      const bits = v[i]! & 3 & ~tier;
      if (bits !== 0) v[i] = slot * 4 + bits;
      else {
        v.splice(i, 1);
        if (v.length === 1) this.holders.set(key, v[0]!);
        st.blocks--;
      }
      return bits;
    }
    return 0;
  }
}

function bitsOf(v: Holders, slot: number): number {
  if (typeof v === 'number') return v >> 2 === slot ? v & 3 : 0;
  for (const x of v) if (x >> 2 === slot) return x & 3;
  return 0;
}

function commonPrefix(a: readonly bigint[], b: readonly bigint[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** vLLM puts cache_salt among the first block's extra keys; take the first string found there. */
function saltOf(extraKeys: unknown[] | null | undefined): string | undefined {
  const first = extraKeys?.[0];
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) return first.find((x): x is string => typeof x === 'string');
  return undefined;
}
