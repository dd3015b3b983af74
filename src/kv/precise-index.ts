// Precise prefix index (llm-d precise prefix cache, Dynamo KV indexer): fed by the engines' own KV
// events, so it knows what each engine really holds. Engine block hashes depend on engine version,
// flags and seeds, so lookups use OUR token-based keys (twin/core/block-hash.ts) and the engine hash
// is kept only as an opaque id mapped to our key when BlockStored arrives (the dual key), to
// resolve BlockRemoved and parent hashes later. Between a routing decision and the engine's event,
// speculative entries with a TTL stand in for the blocks the request is about to store.
import { chainBlockHash, rootHash } from '../twin/core/block-hash.ts';
import type { KvEvent } from './events/types.ts';
import { LruMap } from './lru.ts';
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
  maxSpeculativePerEndpoint?: number;
  maxEndpoints?: number;
  /**
   * The engines hash blocks with our own chained key (twin/core/block-hash.ts, e.g. the twin), so
   * their block hashes ARE our keys: skip re-hashing the tokens. Never set this for vLLM.
   */
  engineHashesAreKeys?: boolean;
}

interface EndpointState {
  /** engine hash -> our key, oldest first (bounded). */
  engineToKey: LruMap<bigint, bigint>;
  speculative: LruMap<bigint, number>; // our key -> expiry time
}

export interface PreciseIndexStats {
  storedBlocks: number;
  removedBlocks: number;
  unknownRemovals: number;
  clears: number;
}

export class PreciseIndex implements PrefixIndex {
  readonly kind = 'precise';
  readonly stats: PreciseIndexStats = { storedBlocks: 0, removedBlocks: 0, unknownRemovals: 0, clears: 0 };
  /** our key -> endpoint -> tier bits (GPU | CPU). */
  private readonly holders = new Map<bigint, Map<string, number>>();
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly cpuWeight: number;
  private readonly ttl: number;
  private readonly options: PreciseIndexOptions;

  constructor(options: PreciseIndexOptions = {}) {
    this.options = options;
    this.cpuWeight = options.cpuWeight ?? 0.8;
    this.ttl = options.speculativeTtlSeconds ?? 2;
  }

  /** Apply one engine event from `endpointId`, in publish order. */
  applyEvent(endpointId: string, event: KvEvent): void {
    const st = this.state(endpointId);
    if (!st) return;
    if (event.type === 'AllBlocksCleared') {
      this.stats.clears++;
      this.clearEndpoint(endpointId, st);
      return;
    }
    const tier = event.medium == null || event.medium === 'GPU' ? GPU : CPU;
    if (event.type === 'BlockRemoved') {
      for (const h of event.blockHashes) {
        const key = st.engineToKey.peek(h);
        if (key === undefined) {
          this.stats.unknownRemovals++;
          continue;
        }
        this.stats.removedBlocks++;
        const bits = this.unsetTier(key, endpointId, tier);
        if (bits === 0) st.engineToKey.delete(h);
      }
      return;
    }
    // BlockStored: derive our key for each block from its tokens, chained on the parent's key.
    // A parent we never saw (events lost before we subscribed) is used as-is: that is exactly right
    // for engines that hash like we do (the twin) and merely unmatched for others.
    let parent: bigint;
    if (event.parentBlockHash === null) parent = rootHash(saltOf(event.extraKeys));
    else parent = st.engineToKey.peek(event.parentBlockHash) ?? event.parentBlockHash;
    const bs = event.blockSize;
    const trusted = this.options.engineHashesAreKeys === true;
    for (let i = 0; i < event.blockHashes.length; i++) {
      if ((i + 1) * bs > event.tokenIds.length) break; // malformed: fewer tokens than blocks
      const key = trusted ? event.blockHashes[i]! : chainBlockHash(parent, event.tokenIds, i * bs, bs);
      st.engineToKey.set(event.blockHashes[i]!, key);
      this.setTier(key, endpointId, tier);
      st.speculative.delete(key);
      this.stats.storedBlocks++;
      parent = key;
    }
  }

  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], now: number): number[] {
    const out = new Array<number>(endpointIds.length).fill(0);
    const alive = new Array<boolean>(endpointIds.length).fill(true);
    let aliveCount = endpointIds.length;
    for (let b = 0; b < keys.length && aliveCount > 0; b++) {
      const holders = this.holders.get(keys[b]!);
      for (let i = 0; i < endpointIds.length; i++) {
        if (!alive[i]) continue;
        const id = endpointIds[i]!;
        const bits = holders?.get(id) ?? 0;
        let w = bits & GPU ? 1 : bits & CPU ? this.cpuWeight : 0;
        if (w === 0) {
          const exp = this.endpoints.get(id)?.speculative.peek(keys[b]!);
          if (exp !== undefined && exp > now) w = 1;
        }
        if (w === 0) {
          alive[i] = false;
          aliveCount--;
        } else out[i]! += w;
      }
    }
    return out;
  }

  recordDecision(endpointId: string, keys: readonly bigint[], now: number): void {
    const st = this.state(endpointId);
    if (!st) return;
    for (const k of keys) {
      if (this.holders.get(k)?.has(endpointId)) continue;
      st.speculative.set(k, now + this.ttl);
    }
  }

  removeEndpoint(endpointId: string): void {
    const st = this.endpoints.get(endpointId);
    if (!st) return;
    this.clearEndpoint(endpointId, st);
    this.endpoints.delete(endpointId);
  }

  size(): number {
    let n = 0;
    for (const st of this.endpoints.values()) n += st.engineToKey.size;
    return n;
  }

  private state(endpointId: string): EndpointState | undefined {
    let st = this.endpoints.get(endpointId);
    if (st) return st;
    if (this.endpoints.size >= (this.options.maxEndpoints ?? 4096)) return undefined;
    const engineToKey = new LruMap<bigint, bigint>(this.options.maxBlocksPerEndpoint ?? 1_000_000);
    engineToKey.onEvict = (_h, key) => this.unsetTier(key, endpointId, GPU | CPU);
    st = { engineToKey, speculative: new LruMap(this.options.maxSpeculativePerEndpoint ?? 100_000) };
    this.endpoints.set(endpointId, st);
    return st;
  }

  private clearEndpoint(endpointId: string, st: EndpointState): void {
    for (const key of st.engineToKey.keys()) {
      const k = st.engineToKey.peek(key)!;
      this.unsetTier(k, endpointId, GPU | CPU);
    }
    st.engineToKey.clear();
    st.speculative.clear();
  }

  private setTier(key: bigint, endpointId: string, tier: number): void {
    let m = this.holders.get(key);
    if (!m) this.holders.set(key, (m = new Map()));
    m.set(endpointId, (m.get(endpointId) ?? 0) | tier);
  }

  /** Clears tier bits; returns the bits left. */
  private unsetTier(key: bigint, endpointId: string, tier: number): number {
    const m = this.holders.get(key);
    if (!m) return 0;
    const bits = (m.get(endpointId) ?? 0) & ~tier;
    if (bits === 0) {
      m.delete(endpointId);
      if (m.size === 0) this.holders.delete(key);
    } else m.set(endpointId, bits);
    return bits;
  }
}

/** vLLM puts cache_salt among the first block's extra keys; take the first string found there. */
function saltOf(extraKeys: unknown[] | null | undefined): string | undefined {
  const first = extraKeys?.[0];
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) return first.find((x): x is string => typeof x === 'string');
  return undefined;
}
