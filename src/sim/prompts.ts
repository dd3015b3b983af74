// The prompts a closed-loop benchmark sends: deterministic token ids, distinct per prompt after an
// optional prefix every prompt shares, and optionally drawn from a fixed dataset the way a
// benchmark client with a finite dataset does (aiperf builds 100 entries and picks one at random
// per request), so that prompts repeat and can be served from the prefix cache.
import { seededRandom } from '../util/seeded-random.ts';

export interface PromptSourceOptions {
  isl: number;
  /** Leading tokens every prompt shares. Default 0. */
  sharedPrefixTokens?: number;
  seed: number;
  /** Distinct prompts to draw from at random; 0 (default): every request its own prompt. */
  pool?: number;
}

/**
 * Returns `promptFor(requestIndex)`: the token ids of that request's prompt. One array serves every
 * request (the twin core copies the prompt), so the result is only valid until the next call.
 */
export function createPromptSource(opts: PromptSourceOptions): (requestIndex: number) => Uint32Array {
  const pool = opts.pool ?? 0;
  if (!(Number.isInteger(pool) && pool >= 0)) throw new RangeError(`prompt pool must be a non-negative integer, got ${pool}`);
  const out = new Uint32Array(opts.isl);
  const shared = opts.sharedPrefixTokens ?? 0;
  const pick = seededRandom(opts.seed ^ 0x5bd1e995);
  return (requestIndex) => fillPrompt(out, pool === 0 ? requestIndex : Math.floor(pick() * pool), shared, opts.seed);
}

/** Distinct, deterministic token ids (an LCG) for prompt `index`, after the shared prefix. */
function fillPrompt(out: Uint32Array, index: number, shared: number, seed: number): Uint32Array {
  const isl = out.length;
  let x = (seed * 0x9e3779b1) >>> 0;
  for (let i = 0; i < Math.min(shared, isl); i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x >>> 2) % 32_000; // 30 bits: an integer modulo, not a double one
  }
  x = (x ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  for (let i = shared; i < isl; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x >>> 2) % 32_000;
  }
  return out;
}
