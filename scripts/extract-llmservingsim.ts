// Extracts held-out OPEN-LOOP measurements for the engine twin from the LLMServingSim project's
// validation runs (github.com/casys-kaist/LLMServingSim, MIT, folder bench/examples/): real vLLM
// servers replaying a request trace at its recorded arrival times, one folder per GPU and model,
// each with vllm/meta.json (vLLM's version and engine settings, the trace's file name and SHA-256)
// and vllm/requests.jsonl (per request: prompt and output tokens, engine timestamps).
//
//   node scripts/extract-llmservingsim.ts CHECKOUT/bench/examples > bench/data/llmservingsim-vllm.csv
//
// One row per run: its settings (max_num_seqs and max_num_batched_tokens are per data-parallel
// rank) and the measured distribution (mean, p50, p90, p99, in ms) of
// TTFT (queued to first token, as vLLM's engine stamps them), TPOT ((last - first token) /
// (output tokens - 1)) and latency (queued to last token). Only measurements are kept: the traces
// themselves stay where they are published (bench:twin-replay reads them from ../shared/traces).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarize } from '../src/bench/stats.ts';

export const LLMSERVINGSIM_COLUMNS = [
  'run', 'gpu', 'model', 'tp', 'dp', 'expert_parallel', 'dtype', 'vllm_version', 'max_num_seqs', 'max_num_batched_tokens', 'num_gpu_blocks', 'block_size',
  'trace', 'trace_sha256', 'requests',
  'ttft_mean_ms', 'ttft_p50_ms', 'ttft_p90_ms', 'ttft_p99_ms', 'tpot_mean_ms', 'tpot_p50_ms', 'tpot_p90_ms', 'tpot_p99_ms',
  'latency_mean_ms', 'latency_p50_ms', 'latency_p90_ms', 'latency_p99_ms',
] as const;

interface Meta {
  model: string;
  vllm_version: string;
  engine_kwargs: { tensor_parallel_size: number; data_parallel_size?: number; enable_expert_parallel?: boolean; max_num_seqs: number; max_num_batched_tokens: number; dtype: string; kv_cache_dtype: string };
  dataset_path: string;
  dataset_hash: string;
  kv_cache?: { num_gpu_blocks: number; block_size: number };
}
interface RequestRecord { input_toks: number; output_toks: number; queued_ts: number; first_token_ts: number; last_token_ts: number }

/** Mean, p50, p90 and p99, as the CSV writes them. */
function summary(values: number[]): string[] {
  const s = summarize(values);
  return [s.mean, s.p50, s.p90, s.p99].map((x) => x.toFixed(2));
}

/** The CSV row of the run in `dir` (a folder holding vllm/meta.json and vllm/requests.jsonl). */
export function extractRun(dir: string, run: string): string {
  const meta = JSON.parse(readFileSync(join(dir, 'vllm', 'meta.json'), 'utf8')) as Meta;
  const records = readFileSync(join(dir, 'vllm', 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RequestRecord);
  const done = records.filter((r) => r.output_toks > 1 && r.last_token_ts >= r.first_token_ts && r.first_token_ts >= r.queued_ts);
  if (done.length !== records.length) throw new Error(`${run}: ${records.length - done.length} of ${records.length} requests lack complete timestamps`);
  const e = meta.engine_kwargs;
  if (e.kv_cache_dtype !== 'auto') throw new Error(`${run}: kv_cache_dtype ${e.kv_cache_dtype} (only auto is read)`);
  return [
    run, run.split('/')[0]!.toLowerCase(), meta.model, e.tensor_parallel_size, e.data_parallel_size ?? 1, e.enable_expert_parallel === true, e.dtype, meta.vllm_version, e.max_num_seqs, e.max_num_batched_tokens,
    meta.kv_cache?.num_gpu_blocks ?? '', meta.kv_cache?.block_size ?? 16, meta.dataset_path.split('/').pop(), meta.dataset_hash, done.length,
    ...summary(done.map((r) => (r.first_token_ts - r.queued_ts) * 1e3)),
    ...summary(done.map((r) => ((r.last_token_ts - r.first_token_ts) * 1e3) / (r.output_toks - 1))),
    ...summary(done.map((r) => (r.last_token_ts - r.queued_ts) * 1e3)),
  ].join(',');
}

/** The CSV (header first) of every GPU/model run folder under `root`, in name order. */
export function extractLlmServingSim(root: string): string {
  const dirs = (path: string) => readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const runs = dirs(root).flatMap((gpu) => dirs(join(root, gpu)).map((model) => `${gpu}/${model}`));
  return [LLMSERVINGSIM_COLUMNS.join(','), ...runs.map((run) => extractRun(join(root, run), run))].join('\n') + '\n';
}

if (import.meta.main) {
  const root = process.argv[2];
  if (!root) {
    console.error('usage: node scripts/extract-llmservingsim.ts CHECKOUT/bench/examples');
    process.exit(2);
  }
  process.stdout.write(extractLlmServingSim(root));
}
