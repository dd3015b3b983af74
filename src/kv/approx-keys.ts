// Block keys for the approximate (tokenizer-free) index, llm-d style: the prompt is cut into
// 64-byte blocks (64 characters of text, about 16 tokens at 4 characters per token; or 16 token
// ids as u32 little-endian when the router already has ids), at most 256 blocks, chained:
//   h0 = xxh64(model || cache_salt),  h_i = xxh64(block_bytes || LE64(h_{i-1})).
import xxhash from 'xxhash-wasm';

const { h64, h64Raw } = await xxhash();

export const APPROX_BLOCK_BYTES = 64;
export const APPROX_BLOCK_TOKENS = 16;
export const APPROX_MAX_BLOCKS = 256;

const encoder = new TextEncoder();
const scratch = new Uint8Array(4 * APPROX_BLOCK_BYTES + 8); // room for 64 chars of up to 4 UTF-8 bytes
const view = new DataView(scratch.buffer);

function chain(parent: bigint, len: number): bigint {
  view.setBigUint64(len, parent, true);
  return h64Raw(scratch.subarray(0, len + 8));
}

export function approxRoot(model: string, cacheSalt?: string): bigint {
  return h64(model + (cacheSalt ?? ''));
}

/** Keys of the full 64-character blocks of `text`. */
export function approxKeysFromText(text: string, model: string, cacheSalt?: string, maxBlocks = APPROX_MAX_BLOCKS): bigint[] {
  const keys: bigint[] = [];
  let h = approxRoot(model, cacheSalt);
  const n = Math.min(maxBlocks, Math.floor(text.length / APPROX_BLOCK_BYTES));
  for (let b = 0; b < n; b++) {
    const chunk = text.slice(b * APPROX_BLOCK_BYTES, (b + 1) * APPROX_BLOCK_BYTES);
    const { written } = encoder.encodeInto(chunk, scratch);
    h = chain(h, written);
    keys.push(h);
  }
  return keys;
}

/** Keys of the full 16-token blocks of `tokenIds` (64 bytes each as u32 LE). */
export function approxKeysFromTokens(tokenIds: ArrayLike<number>, model: string, cacheSalt?: string, maxBlocks = APPROX_MAX_BLOCKS): bigint[] {
  const keys: bigint[] = [];
  let h = approxRoot(model, cacheSalt);
  const n = Math.min(maxBlocks, Math.floor(tokenIds.length / APPROX_BLOCK_TOKENS));
  for (let b = 0; b < n; b++) {
    const base = b * APPROX_BLOCK_TOKENS;
    for (let i = 0; i < APPROX_BLOCK_TOKENS; i++) view.setUint32(4 * i, tokenIds[base + i]! >>> 0, true);
    h = chain(h, APPROX_BLOCK_BYTES);
    keys.push(h);
  }
  return keys;
}
