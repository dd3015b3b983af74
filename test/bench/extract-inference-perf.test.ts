import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { extractInferencePerf, INFERENCE_PERF_COLUMNS } from '../../scripts/extract-inference-perf.ts';

const root = mkdtempSync(join(tmpdir(), 'inference-perf-'));
after(() => rmSync(root, { recursive: true, force: true }));

const summary = (mean: number, median: number, p90: number) => ({ mean, median, p90, min: 0, max: 2 * mean });
function writeExperiment(name: string, profile: object, stages: { ttft: number; e2e: number; failures: number }[]) {
  const dir = join(root, name);
  mkdirSync(join(dir, 'results'), { recursive: true });
  writeFileSync(join(dir, 'exp-config.yaml'), 'model: meta-llama/Llama-2-7b-hf\ntensor_parallelism: 1\nmax_model_len: 4096\nmax_num_batched_tokens: 2048\nmax_num_seqs: 128\napp: inference-perf\n');
  writeFileSync(join(dir, 'profile.yaml'), JSON.stringify(profile)); // inference-perf writes JSON there (valid YAML)
  stages.forEach((s, i) =>
    writeFileSync(join(dir, 'results', `stage_${i}_lifecycle_metrics.json`), JSON.stringify({
      successes: {
        count: 100,
        latency: { time_to_first_token: summary(s.ttft, s.ttft, 2 * s.ttft), time_per_output_token: summary(0.004, 0.004, 0.005), request_latency: summary(s.e2e, s.e2e, 1.5 * s.e2e) },
        prompt_len: summary(575.5, 575, 580), output_len: summary(210, 210, 220),
      },
      failures: { count: s.failures },
    })));
}

const sharedPrefix = { type: 'shared_prefix', shared_prefix: { num_unique_system_prompts: 9, num_users_per_system_prompt: 5, system_prompt_len: 100, question_len: 447, output_len: 248 } };

test('one row per load stage, stages back to back, seconds turned into milliseconds', () => {
  writeExperiment('20260217-231439-llama-2-7b-tp1-general', { data: sharedPrefix, load: { type: 'constant', stages: [{ rate: 8, duration: 600 }, { rate: 20, duration: 300 }] } }, [
    { ttft: 0.027, e2e: 2.05, failures: 0 },
    { ttft: 0.052, e2e: 4.1, failures: 3 },
  ]);
  const [header, ...rows] = extractInferencePerf(root).trim().split('\n');
  assert.equal(header, INFERENCE_PERF_COLUMNS.join(','));
  assert.equal(rows.length, 2);
  const get = (row: string, col: (typeof INFERENCE_PERF_COLUMNS)[number]) => row.split(',')[INFERENCE_PERF_COLUMNS.indexOf(col)];
  assert.equal(get(rows[0]!, 'model'), 'llama-2-7b-hf');
  assert.equal(get(rows[0]!, 'profile'), 'general');
  assert.equal(get(rows[0]!, 'max_num_batched_tokens'), '2048');
  assert.equal(get(rows[0]!, 'system_prompts'), '9');
  assert.equal(get(rows[0]!, 'output_len'), '248');
  assert.equal(get(rows[0]!, 'start_s'), '0');
  assert.equal(get(rows[1]!, 'start_s'), '600');
  assert.equal(get(rows[1]!, 'rate'), '20');
  assert.equal(get(rows[1]!, 'failures'), '3');
  assert.equal(get(rows[0]!, 'ttft_mean_ms'), '27.00');
  assert.equal(get(rows[1]!, 'ttft_p90_ms'), '104.00');
  assert.equal(get(rows[1]!, 'e2e_mean_ms'), '4100.00');
});

test('a workload it cannot replay is refused by name', () => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  writeExperiment('x-poisson', { data: sharedPrefix, load: { type: 'poisson', stages: [{ rate: 1, duration: 10 }] } }, [{ ttft: 0.1, e2e: 1, failures: 0 }]);
  assert.throws(() => extractInferencePerf(root), /x-poisson: load type poisson/);
});
