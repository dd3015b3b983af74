// Deterministic synthetic token ids for traces that carry no text. A 32-bit integer hash of
// (stream, position) picks each id, so equal streams give equal prefixes and different streams
// practically never share a block.
import type { TraceRequest } from './types.ts';

export const SYNTH_VOCAB = 32_000;

/**
 * `h mod SYNTH_VOCAB` for an unsigned 32-bit `h` held as a signed int32, in int32 arithmetic:
 * 2^16 = 1536 (mod 32,000), so h = hi * 2^16 + lo gives (hi * 1536 + lo) mod 32,000. The same value
 * as `(h >>> 0) % SYNTH_VOCAB`, but V8 keeps it in integer registers instead of a double fmod
 * (which made token generation the simulator's top hot spot).
 */
function vocabId(h: number): number {
  return ((h >>> 16) * 1536 + (h & 0xffff)) % SYNTH_VOCAB;
}

/**
 * Writes `count` ids of stream `stream` into `out` at `at` (out must be preallocated): a splitmix-style
 * mix of (stream, position in the stream) per id.
 */
export function writeSynthTokens(stream: number, count: number, out: Uint32Array, at: number): void {
  const a = Math.imul(stream | 0, 0x9e3779b1);
  for (let i = 0; i < count; i++) {
    let h = a ^ Math.imul(i, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    out[at + i] = vocabId(h ^ (h >>> 16));
  }
}

/** The first `n` words of `into` when it is long enough (one buffer reused for every request), else a new array of `n`. */
export function tokenWords(n: number, into?: Uint32Array): Uint32Array {
  return into && into.length >= n ? into.subarray(0, n) : new Uint32Array(n);
}

/**
 * A request with no content of its own (Azure, length-only traces): its prompt is stream `stream`'s
 * synthetic ids, so it shares no block with any other request. Empty prompts and outputs count as one token.
 */
export function contentFreeRequest(id: string, arrival: number, promptTokens: number, outputTokens: number, stream: number): TraceRequest {
  const n = Math.max(1, promptTokens);
  return {
    id,
    arrival,
    promptTokens: n,
    outputTokens: Math.max(1, outputTokens),
    tokenIds: (into?: Uint32Array) => {
      const t = tokenWords(n, into);
      writeSynthTokens(stream, n, t, 0);
      return t;
    },
  };
}
