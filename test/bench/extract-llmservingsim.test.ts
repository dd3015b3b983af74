import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { extractLlmServingSim, LLMSERVINGSIM_COLUMNS } from '../../scripts/extract-llmservingsim.ts';

const root = mkdtempSync(join(tmpdir(), 'llmservingsim-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeRun(run: string, kvCache: object | undefined, requests: object[]) {
  const dir = join(root, run, 'vllm');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({
    model: 'meta-llama/Llama-3.1-8B', vllm_version: '0.19.0', dataset_path: 'workloads/trace-a.jsonl', dataset_hash: 'abc',
    engine_kwargs: { tensor_parallel_size: 1, max_num_seqs: 128, max_num_batched_tokens: 2048, dtype: 'bfloat16', kv_cache_dtype: 'auto' },
    ...(kvCache ? { kv_cache: kvCache } : {}),
  }));
  writeFileSync(join(dir, 'requests.jsonl'), requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

// Two requests: TTFT 0.1 s and 0.3 s; 11 and 21 output tokens over 1 s and 4 s after the first.
const twoRequests = [
  { input_toks: 100, output_toks: 11, queued_ts: 10, first_token_ts: 10.1, last_token_ts: 11.1 },
  { input_toks: 200, output_toks: 21, queued_ts: 20, first_token_ts: 20.3, last_token_ts: 24.3 },
];

test('one row per run: its settings and the measured distributions in milliseconds', () => {
  writeRun('GPU-B/Model', undefined, twoRequests);
  writeRun('GPU-A/Model', { num_gpu_blocks: 2588, block_size: 16 }, twoRequests);
  const [header, ...rows] = extractLlmServingSim(root).trim().split('\n');
  assert.equal(header, LLMSERVINGSIM_COLUMNS.join(','));
  assert.equal(rows.length, 2);
  const get = (row: string, col: (typeof LLMSERVINGSIM_COLUMNS)[number]) => row.split(',')[LLMSERVINGSIM_COLUMNS.indexOf(col)];
  assert.equal(get(rows[0]!, 'run'), 'GPU-A/Model', 'runs in name order');
  assert.equal(get(rows[0]!, 'gpu'), 'gpu-a');
  assert.equal(get(rows[0]!, 'num_gpu_blocks'), '2588');
  assert.equal(get(rows[1]!, 'num_gpu_blocks'), '', 'a run that did not log its KV leaves it empty');
  assert.equal(get(rows[0]!, 'trace'), 'trace-a.jsonl');
  assert.equal(get(rows[0]!, 'dp'), '1', 'no data_parallel_size: one rank');
  assert.equal(get(rows[0]!, 'expert_parallel'), 'false');
  assert.equal(get(rows[0]!, 'max_num_batched_tokens'), '2048');
  assert.equal(get(rows[0]!, 'ttft_mean_ms'), '200.00');
  assert.equal(get(rows[0]!, 'ttft_p50_ms'), '200.00');
  assert.equal(get(rows[0]!, 'ttft_p90_ms'), '280.00');
  assert.equal(get(rows[0]!, 'tpot_mean_ms'), '150.00'); // 1 s / 10 and 4 s / 20
  assert.equal(get(rows[0]!, 'latency_p99_ms'), '4268.00');
});

test('a run with a request that never finished is refused by name', () => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  writeRun('GPU/Broken', undefined, [twoRequests[0]!, { ...twoRequests[1]!, last_token_ts: 0 }]);
  assert.throws(() => extractLlmServingSim(root), /GPU\/Broken: 1 of 2 requests lack complete timestamps/);
});
