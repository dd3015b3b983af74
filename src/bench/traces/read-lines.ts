// Reads a trace file as lines, transparently gunzipping `.gz` (trace files are a few MB).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TraceFormatError } from './types.ts';

/** Refuse absurd inputs instead of exhausting memory: 512 MiB uncompressed. */
const MAX_BYTES = 512 * 1024 * 1024;

export function readTraceLines(path: string): string[] {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new TraceFormatError(`cannot read trace '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (path.endsWith('.gz')) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: MAX_BYTES });
    } catch (err) {
      throw new TraceFormatError(`cannot gunzip trace '${path}': ${(err as Error).message}`);
    }
  }
  if (buf.length > MAX_BYTES) throw new TraceFormatError(`trace '${path}' is larger than ${MAX_BYTES} bytes`);
  return buf.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
}
