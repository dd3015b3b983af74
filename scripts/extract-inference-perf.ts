// Extracts held-out OPEN-LOOP measurements for the engine twin from the BLIS project's training data
// (github.com/inference-sim/training, folder default_args/): vLLM on H100 SXM, driven by
// kubernetes-sigs/inference-perf at constant request rates, one row per load stage with the
// workload's shape and the measured latency summary.
//
//   node scripts/extract-inference-perf.ts CHECKOUT/default_args > bench/data/inference-perf-h100.csv
//
// Each experiment folder holds exp-config.yaml (the vLLM server's flags), profile.yaml
// (inference-perf's config: a shared-prefix workload and its load stages) and
// results/stage_N_lifecycle_metrics.json (latencies in seconds, per stage).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const INFERENCE_PERF_COLUMNS = [
  'experiment', 'model', 'tp', 'max_num_seqs', 'max_num_batched_tokens', 'profile', 'stage', 'start_s', 'duration_s', 'rate',
  'system_prompts', 'users_per_system_prompt', 'system_prompt_len', 'question_len', 'output_len',
  'prompt_len_mean', 'output_len_mean', 'requests', 'failures',
  'ttft_mean_ms', 'ttft_p50_ms', 'ttft_p90_ms', 'tpot_mean_ms', 'e2e_mean_ms', 'e2e_p90_ms',
] as const;

interface Summary { mean: number; median: number; p90: number }
interface StageMetrics {
  successes: { count: number; latency: Record<'time_to_first_token' | 'time_per_output_token' | 'request_latency', Summary>; prompt_len: Summary; output_len: Summary };
  failures: { count: number };
}

const ms = (s: number) => (s * 1e3).toFixed(2);

/** One CSV row per load stage of the experiment in `dir`. */
export function extractExperiment(dir: string, name: string): string[] {
  const exp = parseYaml(readFileSync(join(dir, 'exp-config.yaml'), 'utf8')) as Record<string, string | number>;
  const profile = parseYaml(readFileSync(join(dir, 'profile.yaml'), 'utf8')) as {
    data: { type: string; shared_prefix: Record<string, number> };
    load: { type: string; stages: { rate: number; duration: number }[] };
  };
  if (profile.data.type !== 'shared_prefix') throw new Error(`${name}: data type ${profile.data.type} (only shared_prefix is read)`);
  if (profile.load.type !== 'constant') throw new Error(`${name}: load type ${profile.load.type} (only constant is read)`);
  const sp = profile.data.shared_prefix;
  const model = String(exp.model).split('/').pop()!.toLowerCase();
  const rows: string[] = [];
  let start = 0;
  profile.load.stages.forEach((stage, i) => {
    const m = JSON.parse(readFileSync(join(dir, 'results', `stage_${i}_lifecycle_metrics.json`), 'utf8')) as StageMetrics;
    const s = m.successes;
    const lat = s.latency;
    rows.push([
      name, model, exp.tensor_parallelism, exp.max_num_seqs, exp.max_num_batched_tokens, name.split('-').pop(), i, start, stage.duration, stage.rate,
      sp.num_unique_system_prompts, sp.num_users_per_system_prompt, sp.system_prompt_len, sp.question_len, sp.output_len,
      s.prompt_len.mean.toFixed(1), s.output_len.mean.toFixed(1), s.count, m.failures.count,
      ms(lat.time_to_first_token.mean), ms(lat.time_to_first_token.median), ms(lat.time_to_first_token.p90),
      ms(lat.time_per_output_token.mean), ms(lat.request_latency.mean), ms(lat.request_latency.p90),
    ].join(','));
    start += stage.duration;
  });
  return rows;
}

/** The CSV (header first) of every experiment folder under `root`, in name order. */
export function extractInferencePerf(root: string): string {
  const names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  return [INFERENCE_PERF_COLUMNS.join(','), ...names.flatMap((n) => extractExperiment(join(root, n), n))].join('\n') + '\n';
}

if (import.meta.main) {
  const root = process.argv[2];
  if (!root) {
    console.error('usage: node scripts/extract-inference-perf.ts CHECKOUT/default_args');
    process.exit(2);
  }
  process.stdout.write(extractInferencePerf(root));
}
