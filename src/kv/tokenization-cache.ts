// Bounded cache of prompt tokenizations for precise prefix routing: the same system prompt and
// the same growing conversation are tokenized again and again, and a 32k-token prompt costs
// milliseconds to encode. Keyed by a 64-bit hash of (model, text) so long prompts are not kept as
// keys; bounded both by entries and by total tokens held.
import xxhash from 'xxhash-wasm';
import { hashBlocks } from '../twin/core/block-hash.ts';
import { LruMap } from './lru.ts';

const { h64Raw } = await xxhash();

// The key's bytes are written with Buffer#write, not hashed from a string: xxhash-wasm's string
// path (TextEncoder#encodeInto) ran a 128k-character prompt at 20 us or at 400-500 us, switching
// between the two unpredictably within one process (bench:decision-cost, session 11); Buffer#write
// is steady at 20 us.
// The scratch buffer grows to 4 MiB at most; a larger prompt gets a buffer of its own.
const SCRATCH_MAX = 4 << 20;
let scratch = Buffer.allocUnsafe(1 << 16);
function keyOf(model: string, text: string): bigint {
  const most = 3 * (model.length + 1 + text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
  if (scratch.length < most && most <= SCRATCH_MAX) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(most, 2 * scratch.length)));
  const buf = scratch.length < most ? Buffer.allocUnsafe(most) : scratch;
  let n = buf.write(model, 0, 'utf8');
  buf[n++] = 0;
  n += buf.write(text, n, 'utf8');
  return h64Raw(buf.subarray(0, n));
}

export interface TokenizationCacheOptions {
  maxEntries?: number; // default 10,000
  maxTokens?: number; // default 8M token ids (~64 MB)
}

/** A cached tokenization, with its chained block keys computed at most once per (block size, salt, adapter). */
export interface TokenizedPrompt {
  ids: number[];
  blockKeys(blockSize: number, cacheSalt?: string, lora?: string): bigint[];
}

/** A tokenization with lazily cached block keys (cached by TokenizationCache, or standalone). */
export function tokenizedPrompt(ids: number[]): TokenizedPrompt {
  const keys = new Map<string, bigint[]>();
  return {
    ids,
    blockKeys(blockSize, cacheSalt, lora) {
      const k = `${blockSize}\u0000${cacheSalt ?? ''}\u0000${lora ?? '\u0001'}`;
      let v = keys.get(k);
      if (!v) {
        if (keys.size >= 4) keys.clear(); // a prompt is seen at one or two block sizes in practice
        keys.set(k, (v = hashBlocks(ids, blockSize, cacheSalt, lora)));
      }
      return v;
    },
  };
}

export class TokenizationCache {
  private readonly lru: LruMap<bigint, TokenizedPrompt>;
  private readonly maxTokens: number;
  private tokens = 0;
  hits = 0;
  misses = 0;

  constructor(o: TokenizationCacheOptions = {}) {
    this.lru = new LruMap(o.maxEntries ?? 10_000);
    this.maxTokens = o.maxTokens ?? 8_000_000;
    this.lru.onEvict = (_k, p) => (this.tokens -= p.ids.length);
  }

  /** Token ids of `text` for `model`, from the cache or from `encode` (whose result is cached). */
  get(model: string, text: string, encode: (text: string) => number[]): number[] {
    return this.lookup(model, text, encode).ids;
  }

  /** The cached tokenization of `text` for `model`, with lazily cached block keys. */
  lookup(model: string, text: string, encode: (text: string) => number[]): TokenizedPrompt {
    return this.find(model, text) ?? this.store(model, text, encode(text));
  }

  /** The cached tokenization, if any (counted as a hit or a miss); for callers that encode asynchronously. */
  find(model: string, text: string): TokenizedPrompt | undefined {
    const hit = this.lru.get(keyOf(model, text));
    if (hit) this.hits++;
    else this.misses++;
    return hit;
  }

  /** Caches `ids` as the tokenization of `text` for `model` (unless too big to cache at all). */
  store(model: string, text: string, ids: number[]): TokenizedPrompt {
    const p = tokenizedPrompt(ids);
    if (ids.length > this.maxTokens) return p;
    const key = keyOf(model, text);
    const old = this.lru.peek(key);
    if (old) this.tokens -= old.ids.length; // a concurrent miss stored it first
    this.lru.set(key, p);
    this.tokens += ids.length;
    while (this.tokens > this.maxTokens && this.lru.size > 1) {
      const eldest = this.lru.keys().next().value as bigint;
      const v = this.lru.peek(eldest)!;
      this.lru.delete(eldest);
      this.tokens -= v.ids.length;
    }
    return p;
  }

  get size(): number {
    return this.lru.size;
  }

  get heldTokens(): number {
    return this.tokens;
  }
}
