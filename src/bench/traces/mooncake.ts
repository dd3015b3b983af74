// Mooncake FAST'25 JSONL: {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}.
// Each hash id becomes a deterministic block of 512 tokens, so equal ids give equal prefixes;
// the last block is cut to input_length. Timestamps sit on a ~3 s grid; by default each arrival is
// spread uniformly (seeded) inside its slot, since 90 % of requests share a timestamp otherwise.
import { seededRandom } from '../../util/seeded-random.ts';
import { tokenWords, writeSynthTokens } from './tokens.ts';
import { TraceFormatError, type TraceRequest } from './types.ts';

export const MOONCAKE_BLOCK_TOKENS = 512;

export interface MooncakeOptions {
  /** Spread arrivals inside each slot of this many seconds (0 = replay as bursts). Default 3. */
  jitterSlotSeconds?: number;
  seed?: number;
}

export function parseMooncake(lines: string[], o: MooncakeOptions = {}): TraceRequest[] {
  const slot = o.jitterSlotSeconds ?? 3;
  const random = seededRandom(o.seed ?? 42);
  const out: TraceRequest[] = [];
  lines.forEach((line, i) => {
    let r: { timestamp?: unknown; input_length?: unknown; output_length?: unknown; hash_ids?: unknown };
    try {
      r = JSON.parse(line);
    } catch {
      throw new TraceFormatError(`mooncake line ${i + 1}: not JSON`);
    }
    const ids = r.hash_ids;
    if (typeof r.timestamp !== 'number' || !isCount(r.input_length) || !isCount(r.output_length) || !Array.isArray(ids) || !ids.every(isCount)) {
      throw new TraceFormatError(`mooncake line ${i + 1}: need numeric timestamp, input_length, output_length and hash_ids`);
    }
    const promptTokens = r.input_length;
    if (ids.length < Math.ceil(promptTokens / MOONCAKE_BLOCK_TOKENS)) {
      throw new TraceFormatError(`mooncake line ${i + 1}: ${ids.length} hash_ids cannot cover ${promptTokens} tokens`);
    }
    const hashIds = ids as number[];
    out.push({
      id: `mc-${i}`,
      arrival: r.timestamp / 1000 + (slot > 0 ? random() * slot : 0),
      promptTokens,
      outputTokens: Math.max(1, r.output_length),
      prefixBlocks: { ids: hashIds, blockTokens: MOONCAKE_BLOCK_TOKENS },
      tokenIds: (into?: Uint32Array) => {
        const t = tokenWords(promptTokens, into);
        for (let b = 0, at = 0; at < promptTokens; b++, at += MOONCAKE_BLOCK_TOKENS) {
          writeSynthTokens(hashIds[b]! + 1, Math.min(MOONCAKE_BLOCK_TOKENS, promptTokens - at), t, at);
        }
        return t;
      },
    });
  });
  return out;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}
