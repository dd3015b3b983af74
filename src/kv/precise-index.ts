// Precise prefix index (llm-d precise prefix cache, Dynamo KV indexer): fed by the engines' own KV
// events, so it knows what each engine really holds. Engine block hashes depend on engine version,
// flags and seeds, so lookups use OUR token-based keys (twin/core/block-hash.ts) and the engine hash
// is kept only as an opaque id mapped to our key when BlockStored arrives (the dual key), to
// resolve BlockRemoved and parent hashes later. Between a routing decision and the engine's event,
// speculative entries with a TTL stand in for the blocks the request is about to store.
//
// Each endpoint gets a small integer slot in the holder table (holder-table.ts), so a lookup ANDs an
// "alive" bitset over slots block by block. Speculative entries are whole decisions (the request's
// key array): chained keys make "same key at block i" imply "same blocks 0..i", so a common prefix
// is found by binary search.
import { asTokenWords, chainBlockHash } from '../twin/core/block-hash.ts';
import type { KvEvent } from './events/types.ts';
import { isFullAttentionGroup, parentKeyOf, rootKeyOf } from './event-keys.ts';
import { CPU, GPU, HolderTable } from './holder-table.ts';
import type { PrefixIndex } from './prefix-index.ts';

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
  /** The KV cache group indexed (groupIndexed), once a BlockStored named it; whether it is full attention. */
  group?: number;
  groupIsFull?: boolean;
}

export interface PreciseIndexStats {
  storedBlocks: number;
  removedBlocks: number;
  unknownRemovals: number;
  clears: number;
  /** Events of a KV cache group other than the one indexed (hybrid models), left out. */
  otherGroupEvents: number;
}

export class PreciseIndex implements PrefixIndex {
  readonly kind = 'precise';
  readonly stats: PreciseIndexStats = { storedBlocks: 0, removedBlocks: 0, unknownRemovals: 0, clears: 0, otherGroupEvents: 0 };
  private readonly holders = new HolderTable();
  private readonly endpoints = new Map<string, EndpointState>();
  /** Endpoint id -> the ids its data-parallel ranks' events are applied under (setRanks). */
  private readonly ranks = new Map<string, readonly string[]>();
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
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
    this.maxSpeculative = options.maxSpeculativePerEndpoint ?? 64;
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
    if (!this.groupIndexed(st, event)) {
      this.stats.otherGroupEvents++;
      return;
    }
    const tier = event.medium == null || event.medium === 'GPU' ? GPU : CPU;
    const trusted = this.options.engineHashesAreKeys === true;
    if (event.type === 'BlockRemoved') {
      for (const h of event.blockHashes) {
        if (trusted) {
          if (this.unsetTier(h, st, tier) < 0) this.stats.unknownRemovals++;
          else this.stats.removedBlocks++;
          continue;
        }
        const key = st.engineToKey.get(h);
        if (key === undefined) {
          this.stats.unknownRemovals++;
          continue;
        }
        this.stats.removedBlocks++;
        if (this.unsetTier(key, st, tier) <= 0) st.engineToKey.delete(h);
      }
      return;
    }
    // BlockStored: derive our key for each block from its tokens, chained on the parent's key.
    // A parent we never saw (events lost before we subscribed) is used as-is: that is exactly right
    // for engines that hash like we do (the twin) and merely unmatched for others.
    let parent: bigint;
    if (event.parentBlockHash === null) parent = rootKeyOf(event);
    else parent = st.engineToKey.get(event.parentBlockHash) ?? event.parentBlockHash;
    const bs = event.blockSize;
    // Bounded. With a mapping kept, the oldest mappings are dropped below; with trusted hashes there
    // is no age order, so an endpoint about to exceed its bound is cleared and rebuilt by new events.
    if (trusted && st.blocks + event.blockHashes.length > this.maxBlocks) this.clearEndpoint(st);
    const ids = trusted ? undefined : asTokenWords(event.tokenIds);
    for (let i = 0; i < event.blockHashes.length; i++) {
      if (ids && (i + 1) * bs > ids.length) break; // malformed: fewer tokens than blocks (trusted hashes need none)
      const h = event.blockHashes[i]!;
      if (ids && (i > 0 || event.parentBlockHash !== null)) parent = parentKeyOf(event, i, parent);
      const key = ids ? chainBlockHash(parent, ids, i * bs, bs) : h;
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

  /**
   * An endpoint whose engine runs data-parallel ranks behind one API server, each with its own cache
   * and KV events (applied under `rankIds`). The engine, not the router, picks the rank, so the
   * endpoint matches what its ranks hold on average (or its own speculative entries, if longer).
   */
  setRanks(endpointId: string, rankIds: readonly string[]): void {
    this.ranks.set(endpointId, rankIds);
  }

  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], now: number): number[] {
    if (this.ranks.size === 0 || !endpointIds.some((id) => this.ranks.has(id))) return this.matchedDirect(keys, endpointIds, now);
    const all = [...endpointIds];
    for (const id of endpointIds) all.push(...(this.ranks.get(id) ?? []));
    const m = this.matchedDirect(keys, all, now);
    let next = endpointIds.length;
    return endpointIds.map((id, i) => {
      const ranks = this.ranks.get(id);
      if (!ranks || ranks.length === 0) return m[i]!;
      let sum = 0;
      for (let r = 0; r < ranks.length; r++) sum += m[next++]!;
      return Math.max(m[i]!, sum / ranks.length);
    });
  }

  private matchedDirect(keys: readonly bigint[], endpointIds: readonly string[], now: number): number[] {
    const n = endpointIds.length;
    const states = endpointIds.map((id) => this.endpoints.get(id));
    const words = Math.max(1, Math.ceil(this.slotCount / 32));
    const alive = new Uint32Array(words);
    for (const st of states) if (st) alive[st.slot >>> 5]! |= 1 << (st.slot & 31);
    const run = new Int32Array(words * 32); // per slot: blocks matched
    const cpuOnly = new Int32Array(words * 32); // per slot: matched blocks held only on CPU
    // Walk the chain: an endpoint leaves `alive` at the first block it does not hold.
    const drop = (mask: number, w: number, at: number) => {
      while (mask !== 0) {
        const bit = 31 - Math.clz32(mask);
        run[w * 32 + bit] = at;
        mask &= ~(1 << bit);
      }
    };
    let b = 0;
    for (; b < keys.length; b++) {
      const v = this.holders.get(keys[b]!);
      if (v === undefined) break; // nobody holds it: every alive endpoint stops here
      let any = 0;
      if (typeof v === 'number') {
        const slot = v >> 2;
        const sw = slot >>> 5;
        const bit = 1 << (slot & 31);
        for (let w = 0; w < words; w++) {
          const a = alive[w]!;
          if (a === 0) continue;
          const next = w === sw ? a & bit : 0;
          if (next !== a) drop(a & ~next, w, b);
          alive[w] = next;
          any |= next;
        }
        if (any !== 0 && (v & GPU) === 0) cpuOnly[slot]!++;
      } else {
        const have = v.length >> 1;
        for (let w = 0; w < words; w++) {
          const a = alive[w]!;
          if (a === 0) continue;
          const gpu = w < have ? v[w]! : 0;
          const cpu = w < have ? v[have + w]! : 0;
          const next = a & (gpu | cpu);
          if (next !== a) drop(a & ~next, w, b);
          let cpuBits = next & cpu & ~gpu;
          while (cpuBits !== 0) {
            const bit = 31 - Math.clz32(cpuBits);
            cpuOnly[w * 32 + bit]!++;
            cpuBits &= ~(1 << bit);
          }
          alive[w] = next;
          any |= next;
        }
      }
      if (any === 0) {
        b++; // the survivors of this block (none) are accounted; nothing left to walk
        break;
      }
    }
    for (let w = 0; w < words; w++) {
      let rest = alive[w]!;
      while (rest !== 0) {
        const bit = 31 - Math.clz32(rest);
        run[w * 32 + bit] = b;
        rest &= ~(1 << bit);
      }
    }
    const out = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const st = states[i];
      if (!st) continue;
      let best = run[st.slot]! - (1 - this.cpuWeight) * cpuOnly[st.slot]!;
      // A recent decision covers a prefix too; chained keys make the longer run the match. Keys are
      // chained, so an entry can beat `best` only if it shares the key just past it: one comparison
      // rules most entries out before the binary search.
      for (const sp of st.speculative) {
        const past = Math.floor(best);
        if (sp.expires > now && past < sp.keys.length && past < keys.length && sp.keys[past] === keys[past]) {
          best = commonPrefix(sp.keys, keys, past + 1);
        }
      }
      out[i] = best;
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

  /**
   * Hybrid models (full attention beside sliding-window, chunked-local or Mamba layers) keep a KV
   * cache group per kind and publish each group's blocks under the same hashes. A prefix hit is
   * bounded by the full-attention group, and another group's evictions (a sliding window frees
   * blocks early) must not erase its blocks, so one group per endpoint is indexed: the first named
   * by a BlockStored, replaced (once, the endpoint's entries dropped) by a full-attention one if
   * the first was not.
   */
  private groupIndexed(st: EndpointState, event: Exclude<KvEvent, { type: 'AllBlocksCleared' }>): boolean {
    const group = event.groupIdx ?? 0;
    if (st.group === group) return true;
    if (event.type === 'BlockRemoved') return st.group === undefined; // an unknown removal, counted as such
    const full = isFullAttentionGroup(event);
    if (st.group !== undefined && (st.groupIsFull || !full)) return false;
    if (st.group !== undefined) this.clearEndpoint(st);
    st.group = group;
    st.groupIsFull = full;
    return true;
  }

  private state(endpointId: string): EndpointState | undefined {
    let st = this.endpoints.get(endpointId);
    if (st) return st;
    if (this.endpoints.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    st = { slot, blocks: 0, engineToKey: new Map(), speculative: [] };
    this.endpoints.set(endpointId, st);
    return st;
  }

  private clearEndpoint(st: EndpointState): void {
    if (this.options.engineHashesAreKeys) {
      for (const key of this.holders.keysOf(st.slot)) this.unsetTier(key, st, GPU | CPU);
    } else for (const key of st.engineToKey.values()) this.unsetTier(key, st, GPU | CPU);
    st.engineToKey.clear();
    st.blocks = 0;
    st.speculative.length = 0;
  }

  private setTier(key: bigint, st: EndpointState, tier: number): void {
    if (this.holders.add(key, st.slot, tier, this.slotCount)) st.blocks++;
  }

  /** Clears tier bits of the endpoint on `key`; returns the bits it has left there, or -1 when it did not hold the key. */
  private unsetTier(key: bigint, st: EndpointState, tier: number): number {
    const left = this.holders.remove(key, st.slot, tier);
    if (left === 0) st.blocks--;
    return left;
  }
}

/** Common prefix length of two chained key lists: equal at i implies equal before i, so bisect. */
function commonPrefix(a: readonly bigint[], b: readonly bigint[], known = 0): number {
  let lo = known; // a[0, lo) == b[0, lo)
  let hi = Math.min(a.length, b.length);
  if (lo === 0 && (hi === 0 || a[0] !== b[0])) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (a[mid - 1] === b[mid - 1]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
