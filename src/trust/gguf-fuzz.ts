// Input generators for fuzzing the GGUF validator: targeted mutations of a valid file (the bytes
// that hold counts, lengths, types and offsets are where parsers break) plus purely random bytes.
// Used by the bounded fuzz in test/trust/gguf.test.ts and the long run in scripts/fuzz-gguf.ts.


const INTERESTING_U64 = [0n, 1n, 2n, 31n, 32n, 33n, 255n, 0xffffn, 0x7fffffffn, 0xffffffffn, 1n << 32n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

/**
 * One mutated copy of `valid`; `valid` is never modified. `hotBytes` (e.g. the header length) makes
 * nine edits in ten land in the first `hotBytes` bytes, where the structure is.
 */
export function mutateGguf(valid: Uint8Array, rand: () => number, hotBytes = valid.length): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const where = (len: number) => (rand() < 0.9 ? pick(Math.min(hotBytes, len)) : pick(len));
  const kind = pick(8);
  if (kind === 0) {
    // random bytes, sometimes behind a valid magic + version
    const out = new Uint8Array(pick(256));
    for (let i = 0; i < out.length; i++) out[i] = pick(256);
    if (rand() < 0.5 && out.length >= 8) out.set(valid.subarray(0, 8));
    return out;
  }
  if (kind === 1) return valid.slice(0, pick(valid.length)); // truncation
  const out = Buffer.from(valid);
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const at = where(out.length);
    switch (kind) {
      case 2: out[at] = pick(256); break; // byte
      case 3: out[at] = out[at]! ^ (1 << pick(8)); break; // bit flip
      case 4: if (at + 8 <= out.length) out.writeBigUInt64LE(INTERESTING_U64[pick(INTERESTING_U64.length)]!, at); break;
      case 5: if (at + 4 <= out.length) out.writeUInt32LE(pick(16), at); break; // small type ids / dim counts
      case 6: if (at + 8 <= out.length) out.writeBigUInt64LE(out.readBigUInt64LE(at) + BigInt(pick(64)) - 32n & ((1n << 64n) - 1n), at); break;
      default: { // splice a chunk of the file somewhere else
        const len = pick(64);
        const from = pick(out.length);
        out.copy(out, at, from, Math.min(out.length, from + len));
      }
    }
  }
  return out;
}
