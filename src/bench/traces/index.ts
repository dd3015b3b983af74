// readTrace(path): detects the format from the file's first line and returns requests sorted by
// arrival. Formats: ../shared/traces/README.md.
import { basename } from 'node:path';
import { parseAzure } from './azure.ts';
import { parseLengths } from './lengths.ts';
import { parseMooncake } from './mooncake.ts';
import { readTraceLines } from './read-lines.ts';
import { poissonArrivals } from './poisson.ts';
import { parseSharegptIds } from './sharegpt-ids.ts';
import { TraceFormatError, type Trace, type TraceFormat, type TraceRequest } from './types.ts';

export type { Trace, TraceFormat, TraceRequest } from './types.ts';
export { TraceFormatError } from './types.ts';

export interface ReadTraceOptions {
  /** Mooncake: spread arrivals inside each 3 s slot (default 3; 0 = bursts). */
  jitterSlotSeconds?: number;
  /** Poisson rate for length-only traces, requests/s (default 5). */
  poissonRate?: number;
  seed?: number;
  /** Keep only the first N requests (by file order). */
  maxRequests?: number;
  /**
   * ShareGPT token ids: replace the file's arrivals (one seeded draw of a Poisson process, as its
   * generator says) with another draw, seeded by `seed`, at the file's own mean rate. A trace of 300
   * requests is one small sample; redraws give more of the same workload.
   */
  redrawArrivals?: boolean;
}

export function detectFormat(firstLine: string): TraceFormat {
  const head = firstLine.trim();
  if (head.startsWith('{')) {
    if (head.includes('"hash_ids"')) return 'mooncake';
    if (head.includes('"input_tok_ids"')) return 'sharegpt-ids';
    throw new TraceFormatError('unknown JSONL trace: expected Mooncake (hash_ids) or ShareGPT ids (input_tok_ids)');
  }
  if (head.includes('TIMESTAMP') && head.includes('ContextTokens')) return 'azure';
  if (head.includes('num_prefill_tokens')) return 'lengths';
  throw new TraceFormatError(`unknown trace format (first line: '${head.slice(0, 60)}')`);
}

export function readTrace(path: string, o: ReadTraceOptions = {}): Trace {
  let lines = readTraceLines(path);
  if (lines.length === 0) throw new TraceFormatError(`trace '${path}' is empty`);
  const format = detectFormat(lines[0]!);
  const hasHeader = format === 'azure' || format === 'lengths';
  if (o.maxRequests !== undefined) lines = lines.slice(0, o.maxRequests + (hasHeader ? 1 : 0));
  const requests =
    format === 'mooncake'
      ? parseMooncake(lines, { jitterSlotSeconds: o.jitterSlotSeconds, seed: o.seed })
      : format === 'sharegpt-ids'
        ? parseSharegptIds(lines)
        : format === 'azure'
          ? parseAzure(lines)
          : parseLengths(lines, { rate: o.poissonRate ?? 5, seed: o.seed });
  if (requests.length === 0) throw new TraceFormatError(`trace '${path}' has no requests`);
  requests.sort((a, b) => a.arrival - b.arrival);
  if (o.redrawArrivals) {
    if (format !== 'sharegpt-ids') throw new TraceFormatError(`redrawn arrivals are for traces generated with Poisson arrivals (ShareGPT token ids), not ${format} traces`);
    redrawPoisson(requests, o.seed ?? 1);
  }
  return { name: basename(path).replace(/\.gz$/, ''), format, requests };
}

/** New Poisson arrivals at the requests' own mean rate, in the same order, starting where they started. */
function redrawPoisson(requests: TraceRequest[], seed: number): void {
  if (requests.length < 2) return;
  const first = requests[0]!.arrival;
  const span = requests.at(-1)!.arrival - first;
  if (!(span > 0)) return;
  const arrivals = poissonArrivals(requests.length - 1, (requests.length - 1) / span, seed);
  for (let i = 1; i < requests.length; i++) requests[i]!.arrival = first + arrivals[i - 1]!;
}
