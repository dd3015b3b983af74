// Bounded cache of prompt tokenizations for precise prefix routing: the same system prompt and
// the same growing conversation are tokenized again and again, and a 32k-token prompt costs
// milliseconds to encode. Keyed by a 64-bit hash of (model, text) so long prompts are not kept as
// keys; bounded both by entries and by total tokens held.
import xxhash from 'xxhash-wasm';
import { LruMap } from './lru.ts';

const { h64 } = await xxhash();

export interface TokenizationCacheOptions {
  maxEntries?: number; // default 10,000
  maxTokens?: number; // default 8M token ids (~64 MB)
}

export class TokenizationCache {
  private readonly lru: LruMap<bigint, number[]>;
  private readonly maxTokens: number;
  private tokens = 0;
  hits = 0;
  misses = 0;

  constructor(o: TokenizationCacheOptions = {}) {
    this.lru = new LruMap(o.maxEntries ?? 10_000);
    this.maxTokens = o.maxTokens ?? 8_000_000;
    this.lru.onEvict = (_k, ids) => (this.tokens -= ids.length);
  }

  /** Token ids of `text` for `model`, from the cache or from `encode` (whose result is cached). */
  get(model: string, text: string, encode: (text: string) => number[]): number[] {
    const key = h64(`${model}\u0000${text}`);
    const hit = this.lru.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const ids = encode(text);
    if (ids.length > this.maxTokens) return ids; // too big to cache at all
    this.lru.set(key, ids);
    this.tokens += ids.length;
    while (this.tokens > this.maxTokens && this.lru.size > 1) {
      const eldest = this.lru.keys().next().value as bigint;
      const v = this.lru.peek(eldest)!;
      this.lru.delete(eldest);
      this.tokens -= v.length;
    }
    return ids;
  }

  get size(): number {
    return this.lru.size;
  }

  get heldTokens(): number {
    return this.tokens;
  }
}
