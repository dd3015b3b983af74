// Paged KV-cache blocks with prefix caching, in the manner of vLLM v1's KVCacheManager.
// - A block holds `blockSize` tokens. A FULL block whose KV is computed gets a key (block-hash.ts)
//   and is registered in the cache, so a later request with the same prefix reuses it.
// - Blocks are reference counted; a block at refcount 0 is free. Free blocks with a key stay in
//   the cache on an LRU list and are evicted (BlockRemoved) only when a fresh block is needed;
//   free blocks without a key are handed out first.
// - Cache changes are recorded as KvCacheEvents in a bounded buffer (oldest dropped and counted).
import { chainBlockHash } from './block-hash.ts';
import { KeyTable } from './key-table.ts';
import type { KvCacheEvent } from './types.ts';

/** What the block manager needs to know about one request's tokens and blocks. */
export interface CacheSequence {
  /**
   * Prompt plus generated tokens so far: the first `numTokens` entries (the rest is spare room).
   * A typed array: no per-token garbage, nothing for the GC to scan.
   */
  tokens: Uint32Array;
  numTokens: number;
  /** Parent key of block 0 (rootHash(salt)). */
  readonly rootHash: bigint;
  /** The request's cache_salt, if any: BlockStored names it for the first block (vLLM's extra_keys). */
  readonly cacheSalt?: string;
  /** The request's LoRA adapter, if any: BlockStored names it on every block (vLLM's extra_keys and lora_name). */
  readonly lora?: string;
  /** Keys of this sequence's full blocks, filled lazily from `tokens`. */
  blockHashes: bigint[];
  /** Block table: physical block ids, in token order. */
  blocks: number[];
  /** Leading blocks already offered to the cache (registered, or found as duplicates). */
  numRegisteredBlocks: number;
}

/** A token buffer holding `ids`, with room for `spare` more before it has to grow. */
export function tokenBuffer(ids: ArrayLike<number>, spare: number): Uint32Array {
  const buf = new Uint32Array(ids.length + Math.max(0, spare));
  buf.set(ids);
  return buf;
}

/** Appends one token to the sequence, doubling its buffer when full. */
export function appendToken(seq: CacheSequence, token: number): void {
  if (seq.numTokens === seq.tokens.length) {
    const grown = new Uint32Array(Math.max(16, 2 * seq.tokens.length));
    grown.set(seq.tokens);
    seq.tokens = grown;
  }
  seq.tokens[seq.numTokens++] = token;
}

export interface BlockManagerOptions {
  numBlocks: number;
  blockSize: number;
  /** Record KvCacheEvents (off in the simulator, where nobody reads them). Default true. */
  recordEvents?: boolean;
  /** At most this many events are kept between drains; older ones are dropped. Default 10,000. */
  maxBufferedEvents?: number;
  /**
   * BlockStored events carry their blocks' token ids, as vLLM's do. Default true. An in-process
   * subscriber that trusts our block hashes (the virtual cluster's precise index) does without,
   * which saves copying every prompt into its events.
   */
  eventTokenIds?: boolean;
  /** Register computed blocks for reuse (vLLM --enable-prefix-caching). Default true. */
  enablePrefixCaching?: boolean;
}

const NONE = -1;

/** tokens[from, to) as a plain array. A loop: Array.from over a typed subarray was the simulator's largest single cost. */
function toArray(tokens: Uint32Array, from: number, to: number): number[] {
  const out = new Array<number>(to - from);
  for (let i = from; i < to; i++) out[i - from] = tokens[i]!;
  return out;
}

export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly refCount: Int32Array;
  /**
   * Key -> block, for every block registered in the cache; it also answers a block's key (kept as
   * two int32 halves, so no BigInt lives as long as its block and the GC has nothing to trace).
   */
  private readonly cached: KeyTable;
  /** Free blocks without a key, used first. */
  private readonly uncachedFree: number[] = [];
  // Free blocks with a key, least recently freed at the head (evicted first): a doubly linked list.
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly inLru: Uint8Array;
  private lruHead = NONE;
  private lruTail = NONE;
  private lruSize = 0;

  private readonly recordEvents: boolean;
  private readonly maxBufferedEvents: number;
  private readonly eventTokenIds: boolean;
  readonly prefixCaching: boolean;
  private events: KvCacheEvent[] = [];
  droppedEvents = 0;

  constructor(opts: BlockManagerOptions) {
    const { numBlocks, blockSize } = opts;
    if (!Number.isInteger(numBlocks) || numBlocks <= 0) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize <= 0) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.refCount = new Int32Array(numBlocks);
    this.cached = new KeyTable(numBlocks);
    this.lruPrev = new Int32Array(numBlocks).fill(NONE);
    this.lruNext = new Int32Array(numBlocks).fill(NONE);
    this.inLru = new Uint8Array(numBlocks);
    // Pop from the end: block 0 is handed out first.
    for (let b = numBlocks - 1; b >= 0; b--) this.uncachedFree.push(b);
    this.prefixCaching = opts.enablePrefixCaching ?? true;
    this.recordEvents = (opts.recordEvents ?? true) && this.prefixCaching;
    this.maxBufferedEvents = opts.maxBufferedEvents ?? 10_000;
    this.eventTokenIds = opts.eventTokenIds ?? true;
  }

  get numFreeBlocks(): number {
    return this.uncachedFree.length + this.lruSize;
  }

  get numUsedBlocks(): number {
    return this.numBlocks - this.numFreeBlocks;
  }

  /** Number of cached blocks (in use or free) that hold a key. */
  get numCachedBlocks(): number {
    return this.cached.size;
  }

  refCountOf(block: number): number {
    return this.refCount[block]!;
  }

  /** Blocks needed to hold `numTokens` tokens. */
  blocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  /** Computes the sequence's keys for its first `numBlocks` full blocks (as far as tokens allow). */
  ensureHashes(seq: CacheSequence, numBlocks: number): void {
    const bs = this.blockSize;
    const limit = Math.min(numBlocks, Math.floor(seq.numTokens / bs));
    for (let i = seq.blockHashes.length; i < limit; i++) {
      const parent = i === 0 ? seq.rootHash : seq.blockHashes[i - 1]!;
      seq.blockHashes.push(chainBlockHash(parent, seq.tokens, i * bs, bs));
    }
  }

  /**
   * Leading blocks of a sequence with no blocks yet that are already in the cache. At least one
   * token is always left to compute (as vLLM does), so a fully cached prompt still runs one token.
   */
  findCachedPrefix(seq: CacheSequence): number {
    if (!this.prefixCaching) return 0;
    const maxBlocks = Math.floor((seq.numTokens - 1) / this.blockSize);
    this.ensureHashes(seq, maxBlocks);
    let hits = 0;
    while (hits < maxBlocks && this.cached.has(seq.blockHashes[hits]!)) hits++;
    return hits;
  }

  /**
   * Grows the block table so it holds `numTokens` tokens. A sequence without blocks first takes its
   * `cachedPrefixBlocks` cache hits (from findCachedPrefix, same step). Returns false, changing
   * nothing, when there are not enough free blocks.
   */
  allocate(seq: CacheSequence, numTokens: number, cachedPrefixBlocks = 0): boolean {
    if (seq.blocks.length * this.blockSize >= numTokens) return true; // the common decode step: room in the last block
    const hits = seq.blocks.length === 0 ? cachedPrefixBlocks : 0;
    const needed = this.blocksFor(numTokens) - seq.blocks.length - hits;
    // Hit blocks that are free now stop being free when we take them.
    let freeHits = 0;
    for (let i = 0; i < hits; i++) {
      if (this.refCount[this.cached.get(seq.blockHashes[i]!)] === 0) freeHits++;
    }
    if (needed > this.numFreeBlocks - freeHits) return false;

    for (let i = 0; i < hits; i++) {
      const block = this.cached.get(seq.blockHashes[i]!);
      if (this.refCount[block] === 0) this.lruRemove(block);
      this.refCount[block]!++;
      seq.blocks.push(block);
    }
    if (hits > 0) seq.numRegisteredBlocks = hits;

    let evicted: bigint[] | null = null;
    for (let i = 0; i < needed; i++) {
      let block = this.uncachedFree.pop();
      if (block === undefined) {
        block = this.lruHead;
        this.lruRemove(block);
        if (this.recordEvents) (evicted ??= []).push(this.cached.keyOf(block));
        this.cached.deleteId(block);
      }
      this.refCount[block] = 1;
      seq.blocks.push(block);
    }
    if (evicted) this.record({ type: 'BlockRemoved', blockHashes: evicted, medium: 'GPU' });
    return true;
  }

  /** The first `numComputedTokens` tokens now have KV: register the full blocks among them in the cache. */
  cacheComputed(seq: CacheSequence, numComputedTokens: number): void {
    if (!this.prefixCaching) return;
    const bs = this.blockSize;
    const full = Math.min(Math.floor(numComputedTokens / bs), seq.blocks.length);
    if (full <= seq.numRegisteredBlocks) return;
    this.ensureHashes(seq, full);
    let stored: bigint[] | null = null;
    let firstStored = 0;
    for (let i = seq.numRegisteredBlocks; i < full; i++) {
      const key = seq.blockHashes[i]!;
      const block = seq.blocks[i]!;
      // Another sequence computed the same block first: keep its copy, ours stays unregistered.
      if (!this.cached.insertIfAbsent(key, block)) continue;
      if (!this.recordEvents) continue;
      if (stored && firstStored + stored.length !== i) {
        this.recordStored(seq, firstStored, stored);
        stored = null;
      }
      if (!stored) {
        stored = [];
        firstStored = i;
      }
      stored.push(key);
    }
    if (stored) this.recordStored(seq, firstStored, stored);
    seq.numRegisteredBlocks = full;
  }

  /** Drops the sequence's references. Its blocks are freed tail first, so a prefix outlives its suffix. */
  free(seq: CacheSequence): void {
    for (let i = seq.blocks.length - 1; i >= 0; i--) {
      const block = seq.blocks[i]!;
      const rc = --this.refCount[block]!;
      if (rc < 0) throw new Error(`block ${block} refcount went negative`);
      if (rc > 0) continue;
      if (this.cached.hasId(block)) this.lruAppend(block);
      else this.uncachedFree.push(block);
    }
    seq.blocks = [];
    seq.numRegisteredBlocks = 0;
  }

  /** Checks the manager's internal consistency (O(blocks)); returns the first problem found, or null. For tests. */
  checkInvariants(): string | null {
    const onUncached = new Uint8Array(this.numBlocks);
    for (const b of this.uncachedFree) {
      if (onUncached[b]) return `block ${b} is twice on the uncached free list`;
      onUncached[b] = 1;
    }
    let lruCount = 0;
    for (let b = this.lruHead, prev = NONE; b !== NONE; prev = b, b = this.lruNext[b]!) {
      if (this.lruPrev[b] !== prev) return `LRU list is broken at block ${b}`;
      if (++lruCount > this.numBlocks) return 'LRU list has a cycle';
    }
    if (lruCount !== this.lruSize) return `LRU list has ${lruCount} blocks, counted ${this.lruSize}`;
    let keyed = 0;
    for (let b = 0; b < this.numBlocks; b++) {
      const rc = this.refCount[b]!;
      const key = this.cached.hasId(b) ? this.cached.keyOf(b) : undefined;
      if (rc < 0) return `block ${b} has refcount ${rc}`;
      const free = onUncached[b] === 1 || this.inLru[b] === 1;
      if ((rc === 0) !== free) return `block ${b} has refcount ${rc} but is ${free ? '' : 'not '}on a free list`;
      if (onUncached[b] && key !== undefined) return `uncached free block ${b} has a key`;
      if (this.inLru[b] && key === undefined) return `LRU block ${b} has no key`;
      if (key !== undefined) {
        keyed++;
        if (this.cached.get(key) !== b) return `block ${b}'s key does not map back to it`;
      }
    }
    if (keyed !== this.cached.size) return `${this.cached.size} keys in the table, ${keyed} keyed blocks`;
    return null;
  }

  /** Cache changes since the last drain, oldest first. */
  drainEvents(): KvCacheEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  private recordStored(seq: CacheSequence, first: number, keys: bigint[]): void {
    const bs = this.blockSize;
    const event: KvCacheEvent & { type: 'BlockStored' } = {
      type: 'BlockStored',
      blockHashes: keys,
      parentBlockHash: first === 0 ? null : seq.blockHashes[first - 1]!,
      tokenIds: this.eventTokenIds ? toArray(seq.tokens, first * bs, (first + keys.length) * bs) : [],
      blockSize: bs,
      medium: 'GPU',
    };
    // Without the salt (or the adapter) a subscriber re-hashing the tokens would key these blocks as
    // the base model's, unsalted. vLLM's order: the adapter on every block, the salt after it on the first.
    const salt = first === 0 ? seq.cacheSalt : undefined;
    if (salt || seq.lora) {
      const lora = seq.lora ? [seq.lora] : [];
      event.extraKeys = keys.map((_, i) => (i === 0 && salt ? [...lora, salt] : lora.length > 0 ? lora : null));
    }
    if (seq.lora) event.loraName = seq.lora;
    this.record(event);
  }

  private record(event: KvCacheEvent): void {
    if (!this.recordEvents) return;
    if (this.events.length >= this.maxBufferedEvents) {
      this.events.shift();
      this.droppedEvents++;
    }
    this.events.push(event);
  }

  private lruAppend(block: number): void {
    this.lruPrev[block] = this.lruTail;
    this.lruNext[block] = NONE;
    if (this.lruTail !== NONE) this.lruNext[this.lruTail] = block;
    else this.lruHead = block;
    this.lruTail = block;
    this.inLru[block] = 1;
    this.lruSize++;
  }

  private lruRemove(block: number): void {
    if (!this.inLru[block]) throw new Error(`block ${block} is not on the free list`);
    const prev = this.lruPrev[block]!;
    const next = this.lruNext[block]!;
    if (prev !== NONE) this.lruNext[prev] = next;
    else this.lruHead = next;
    if (next !== NONE) this.lruPrev[next] = prev;
    else this.lruTail = prev;
    this.lruPrev[block] = NONE;
    this.lruNext[block] = NONE;
    this.inLru[block] = 0;
    this.lruSize--;
  }
}
