// ShareGPT as real token ids (LLMServingSim): {"input_toks", "output_toks", "arrival_time_ns",
// "input_tok_ids": [...]}. Real ids, so prefix sharing is whatever the prompts really share.
import { tokenWords } from './tokens.ts';
import { TraceFormatError, type TraceRequest } from './types.ts';

export function parseSharegptIds(lines: string[]): TraceRequest[] {
  return lines.map((line, i) => {
    let r: { output_toks?: unknown; arrival_time_ns?: unknown; input_tok_ids?: unknown };
    try {
      r = JSON.parse(line);
    } catch {
      throw new TraceFormatError(`sharegpt line ${i + 1}: not JSON`);
    }
    const ids = r.input_tok_ids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isInteger(x) && x >= 0) || typeof r.arrival_time_ns !== 'number' || typeof r.output_toks !== 'number') {
      throw new TraceFormatError(`sharegpt line ${i + 1}: need input_tok_ids, output_toks and arrival_time_ns`);
    }
    const tokens = ids as number[];
    return {
      id: `sg-${i}`,
      arrival: r.arrival_time_ns / 1e9,
      promptTokens: tokens.length,
      outputTokens: Math.max(1, Math.floor(r.output_toks)),
      tokenIds: (into?: Uint32Array) => {
        const t = tokenWords(tokens.length, into);
        t.set(tokens);
        return t;
      },
    };
  });
}
