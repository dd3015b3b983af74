// Deterministic synthetic token ids for traces that carry no text. A 32-bit integer hash of
// (stream, position) picks each id, so equal streams give equal prefixes and different streams
// practically never share a block.

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

/** splitmix-style 32-bit mix of two integers. */
export function mix32(a: number, b: number): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(b | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** `count` ids of stream `stream`, starting at position `from`, appended to `out`. */
export function synthTokens(stream: number, count: number, out: number[] = [], from = 0): number[] {
  for (let i = 0; i < count; i++) out.push(vocabId(mix32(stream, from + i)));
  return out;
}

/** Writes `count` ids of stream `stream` into `out` at `at` (out must be preallocated). */
export function writeSynthTokens(stream: number, count: number, out: number[], at: number): void {
  const a = Math.imul(stream | 0, 0x9e3779b1);
  for (let i = 0; i < count; i++) {
    let h = a ^ Math.imul(i, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    out[at + i] = vocabId(h ^ (h >>> 16));
  }
}
