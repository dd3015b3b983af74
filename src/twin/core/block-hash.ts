// Prefix-cache block keys: a chained 64-bit xxHash over the token ids of each FULL block.
// key_i = xxh64(LE64(key_{i-1}) || token ids as u32 LE), key_{-1} = root(salt).
// The twin's block manager, its KV-event publisher and the router's indexes all call this module,
// so the same tokens under the same salt give the same keys everywhere.
import xxhash from 'xxhash-wasm';

const { h64, h64Raw } = await xxhash();

/** Seeds keep our keys apart from other xxh64 uses of the same bytes. */
const BLOCK_SEED = 0x696e66657273746bn; // "inferstk"
const SALT_SEED = 0x73616c74n; // "salt"
const LORA_SEED = 0x6c6f7261n; // "lora"

// The hashed bytes: LE64(parent) then the block's ids as u32 LE. Token ids are written through a
// Uint32Array view, which is little-endian on every platform Node ships for; a big-endian host
// takes the DataView path.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let scratch = new Uint8Array(8 + 4 * 16);
let words = new Uint32Array(scratch.buffer);
let view = new DataView(scratch.buffer);

/**
 * The parent key of a request's first block: 0 without a salt, a hash of the salt with one. Under
 * a LoRA adapter, a hash of (adapter, salt) with its own seed: an adapter's KV differs from the
 * base model's for the same tokens, so vLLM keys its blocks apart (the adapter is in their extra keys).
 */
export function rootHash(salt?: string, lora?: string): bigint {
  if (lora !== undefined) return h64(`${lora}\u0000${salt ?? ''}`, LORA_SEED);
  return salt ? h64(salt, SALT_SEED) : 0n;
}

/**
 * Key of the block tokenIds[start, start + blockSize) chained on `parent`. Ids come as a
 * Uint32Array only, so this hot function stays monomorphic (mixing plain arrays in made every
 * caller slower); `hashBlocks` converts other arrays once.
 */
export function chainBlockHash(parent: bigint, tokenIds: Uint32Array, start: number, blockSize: number): bigint {
  const bytes = 8 + 4 * blockSize;
  if (scratch.length !== bytes) {
    scratch = new Uint8Array(bytes);
    words = new Uint32Array(scratch.buffer);
    view = new DataView(scratch.buffer);
  }
  view.setBigUint64(0, parent, true);
  if (LITTLE_ENDIAN) for (let i = 0; i < blockSize; i++) words[2 + i] = tokenIds[start + i]!;
  else for (let i = 0; i < blockSize; i++) view.setUint32(8 + 4 * i, tokenIds[start + i]!, true);
  return h64Raw(scratch, BLOCK_SEED);
}

let idScratch = new Uint32Array(4096);

/**
 * Token ids as a Uint32Array (each id taken modulo 2^32), copied when they are not one already into
 * a buffer reused by the next call: read it before calling again, do not keep it.
 */
export function asTokenWords(tokenIds: ArrayLike<number>): Uint32Array {
  if (tokenIds instanceof Uint32Array) return tokenIds;
  const n = tokenIds.length;
  if (idScratch.length < n) idScratch = new Uint32Array(Math.max(n, 2 * idScratch.length));
  for (let i = 0; i < n; i++) idScratch[i] = tokenIds[i]!;
  return idScratch.subarray(0, n);
}

/** Keys of every full block of `tokenIds` (a trailing partial block has none), each chained on the previous. */
export function hashBlocks(tokenIds: ArrayLike<number>, blockSize: number, salt?: string, lora?: string): bigint[] {
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  const ids = asTokenWords(tokenIds);
  const keys: bigint[] = [];
  let parent = rootHash(salt, lora);
  for (let start = 0; start + blockSize <= ids.length; start += blockSize) {
    parent = chainBlockHash(parent, ids, start, blockSize);
    keys.push(parent);
  }
  return keys;
}
