// Engine block hashes arrive as uint64, int64 (negative) or bytes (sha256 digests). Every consumer
// keys on the same value: the last 8 bytes, big-endian, as an unsigned 64-bit integer.

const U64 = 64;

export function normalizeBlockHash(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return BigInt.asUintN(U64, value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return undefined;
    return BigInt.asUintN(U64, BigInt(value));
  }
  if (value instanceof Uint8Array) {
    if (value.byteLength === 0) return undefined;
    let out = 0n;
    for (const byte of value.subarray(Math.max(0, value.byteLength - 8))) out = (out << 8n) | BigInt(byte);
    return out;
  }
  return undefined;
}
