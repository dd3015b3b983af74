// A workload summary (mean ISL/OSL and arrival rate) from a request trace, for `plan --search --trace`.
// Formats: JSON lines with Mooncake-style fields (timestamp in ms, input_length, output_length;
// input_tokens/prompt_tokens and output_tokens/completion_tokens also accepted), or CSV with a
// header like the Azure LLM traces (TIMESTAMP, ContextTokens, GeneratedTokens).
import { readFileSync, statSync } from 'node:fs';
import { PhysicsInputError } from '../errors.ts';

export interface TraceWorkload {
  isl: number;
  osl: number;
  rate: number;
  requests: number;
  durationSec: number;
}

const MAX_BYTES = 256 * 1024 * 1024;
const MAX_LINES = 5_000_000;

function pick(obj: Record<string, unknown>, keys: string[]): unknown {
  for (const k of keys) if (obj[k] !== undefined) return obj[k];
  return undefined;
}

function toMs(v: unknown): number {
  if (typeof v === 'number') return v; // Mooncake: milliseconds
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
    const t = Date.parse(v.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1'));
    if (Number.isFinite(t)) return t;
  }
  return NaN;
}

export function parseTrace(text: string, source = 'trace'): TraceWorkload {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new PhysicsInputError(`${source}: empty trace`);
  if (lines.length > MAX_LINES) throw new PhysicsInputError(`${source}: more than ${MAX_LINES} requests`);
  const rows: Array<Record<string, unknown>> = [];
  if (lines[0]!.trimStart().startsWith('{')) {
    lines.forEach((l, i) => {
      try {
        rows.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        throw new PhysicsInputError(`${source}: line ${i + 1} is not JSON`);
      }
    });
  } else {
    const header = lines[0]!.split(',').map((h) => h.trim());
    for (const l of lines.slice(1)) {
      const cells = l.split(',');
      rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]?.trim()])));
    }
  }
  let isl = 0;
  let osl = 0;
  let first = Infinity;
  let last = -Infinity;
  rows.forEach((r, i) => {
    const inTok = Number(pick(r, ['input_length', 'input_tokens', 'prompt_tokens', 'isl', 'ContextTokens', 'context_tokens']));
    const outTok = Number(pick(r, ['output_length', 'output_tokens', 'completion_tokens', 'osl', 'GeneratedTokens', 'generated_tokens']));
    const ts = toMs(pick(r, ['timestamp', 'TIMESTAMP', 'arrival_time', 'time']));
    if (!(inTok >= 0) || !(outTok >= 1) || !Number.isFinite(ts)) {
      throw new PhysicsInputError(`${source}: request ${i + 1} needs a timestamp, input tokens and output tokens`);
    }
    isl += inTok;
    osl += outTok;
    first = Math.min(first, ts);
    last = Math.max(last, ts);
  });
  const n = rows.length;
  const durationSec = (last - first) / 1000;
  if (n < 2 || durationSec <= 0) throw new PhysicsInputError(`${source}: needs at least two requests at different times to know the rate`);
  return { isl: Math.max(1, Math.round(isl / n)), osl: Math.max(1, Math.round(osl / n)), rate: (n - 1) / durationSec, requests: n, durationSec };
}

export function loadTrace(path: string): TraceWorkload {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new PhysicsInputError(`cannot read trace '${path}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (size > MAX_BYTES) throw new PhysicsInputError(`trace '${path}' is larger than ${MAX_BYTES / 2 ** 20} MiB`);
  return parseTrace(readFileSync(path, 'utf8'), path);
}
