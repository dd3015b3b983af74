// Prefix-cache block keys: a chained 64-bit xxHash over the token ids of each FULL block.
// key_i = xxh64(LE64(key_{i-1}) || token ids as u32 LE), key_{-1} = root(salt).
// The twin's block manager, its KV-event publisher and the router's indexes all call this module,
// so the same tokens under the same salt give the same keys everywhere.
import xxhash from 'xxhash-wasm';

const { h64, h64Raw } = await xxhash();

/** Seeds keep our keys apart from other xxh64 uses of the same bytes. */
const BLOCK_SEED = 0x696e66657273746bn; // "inferstk"
const SALT_SEED = 0x73616c74n; // "salt"

let scratch = new Uint8Array(8 + 4 * 16);
let view = new DataView(scratch.buffer);

/** The parent key of a request's first block: 0 without a salt, a hash of the salt with one. */
export function rootHash(salt?: string): bigint {
  return salt ? h64(salt, SALT_SEED) : 0n;
}

/** Key of the block tokenIds[start, start + blockSize) chained on `parent`. */
export function chainBlockHash(parent: bigint, tokenIds: ArrayLike<number>, start: number, blockSize: number): bigint {
  const bytes = 8 + 4 * blockSize;
  if (scratch.length !== bytes) {
    scratch = new Uint8Array(bytes);
    view = new DataView(scratch.buffer);
  }
  view.setBigUint64(0, parent, true);
  for (let i = 0; i < blockSize; i++) view.setUint32(8 + 4 * i, tokenIds[start + i]! >>> 0, true);
  return h64Raw(scratch, BLOCK_SEED);
}

/** Keys of every full block of `tokenIds` (a trailing partial block has none), each chained on the previous. */
export function hashBlocks(tokenIds: ArrayLike<number>, blockSize: number, salt?: string): bigint[] {
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  const keys: bigint[] = [];
  let parent = rootHash(salt);
  for (let start = 0; start + blockSize <= tokenIds.length; start += blockSize) {
    parent = chainBlockHash(parent, tokenIds, start, blockSize);
    keys.push(parent);
  }
  return keys;
}
