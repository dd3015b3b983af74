// Azure LLM inference trace CSV: TIMESTAMP,ContextTokens,GeneratedTokens with naive datetimes
// such as "2023-11-16 18:17:03.9799600" (read as UTC; only differences matter). The trace has no
// prompt content: each request gets its own random tokens, so nothing is shared between requests.
import { contentFreeRequest } from './tokens.ts';
import { TraceFormatError, type TraceRequest } from './types.ts';

const TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/;

export function parseAzureTimestamp(s: string): number {
  const m = TS.exec(s.trim());
  if (!m) return NaN;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const frac = m[7] ? Number(`0.${m[7]}`) : 0;
  return ms / 1000 + frac;
}

export function parseAzure(lines: string[], streamBase = 1 << 24): TraceRequest[] {
  const header = lines[0]?.split(',').map((h) => h.trim());
  const iTs = header?.indexOf('TIMESTAMP') ?? -1;
  const iIn = header?.indexOf('ContextTokens') ?? -1;
  const iOut = header?.indexOf('GeneratedTokens') ?? -1;
  if (iTs < 0 || iIn < 0 || iOut < 0) throw new TraceFormatError('azure: header must have TIMESTAMP,ContextTokens,GeneratedTokens');
  const out: TraceRequest[] = [];
  let t0 = NaN;
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.split(',');
    const t = parseAzureTimestamp(cols[iTs] ?? '');
    const promptTokens = Number(cols[iIn]);
    const outputTokens = Number(cols[iOut]);
    if (!Number.isFinite(t) || !Number.isInteger(promptTokens) || promptTokens < 0 || !Number.isInteger(outputTokens) || outputTokens < 0) {
      throw new TraceFormatError(`azure line ${i + 1}: bad row '${lines[i]!.slice(0, 80)}'`);
    }
    if (Number.isNaN(t0)) t0 = t;
    out.push(contentFreeRequest(`az-${i}`, t - t0, promptTokens, outputTokens, streamBase + i));
  }
  return out;
}
