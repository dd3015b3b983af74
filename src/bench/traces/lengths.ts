// Length-only CSVs (Vidur / Sarathi / etalon): num_prefill_tokens,num_decode_tokens,... with no
// arrival times; arrivals are drawn from a seeded Poisson process at `rate` requests per second.
// Prompts are random tokens per request (no shared prefixes).
import { poissonArrivals } from './poisson.ts';
import { contentFreeRequest } from './tokens.ts';
import { TraceFormatError, type TraceRequest } from './types.ts';

export interface LengthsOptions {
  rate: number; // requests per second
  seed?: number;
  maxRequests?: number;
}

export function parseLengths(lines: string[], o: LengthsOptions, streamBase = 1 << 25): TraceRequest[] {
  if (!(o.rate > 0)) throw new TraceFormatError('length-only traces need a positive Poisson rate');
  const header = lines[0]?.split(',').map((h) => h.trim());
  const iIn = header?.indexOf('num_prefill_tokens') ?? -1;
  const iOut = header?.indexOf('num_decode_tokens') ?? -1;
  if (iIn < 0 || iOut < 0) throw new TraceFormatError('lengths: header must have num_prefill_tokens,num_decode_tokens');
  const n = Math.min(lines.length - 1, o.maxRequests ?? Infinity);
  const arrivals = poissonArrivals(n, o.rate, o.seed ?? 42);
  const out: TraceRequest[] = [];
  for (let i = 1; i <= n; i++) {
    const cols = lines[i]!.split(',');
    const promptTokens = Number(cols[iIn]);
    const outputTokens = Number(cols[iOut]);
    if (!Number.isInteger(promptTokens) || promptTokens < 0 || !Number.isInteger(outputTokens) || outputTokens < 0) {
      throw new TraceFormatError(`lengths line ${i + 1}: bad row '${lines[i]!.slice(0, 80)}'`);
    }
    out.push(contentFreeRequest(`len-${i}`, arrivals[i - 1]!, promptTokens, outputTokens, streamBase + i));
  }
  return out;
}
