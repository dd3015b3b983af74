// GET /metrics parses as Prometheus text and carries vLLM's names with the right meanings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText, type Sample } from '../../../src/engines/prometheus-text.ts';
import type { TwinServer } from '../../../src/twin/server/index.ts';
import { MODEL, post, raw, startTestTwin } from './helpers.ts';

let twin: TwinServer;
before(async () => { twin = await startTestTwin({ numGpuBlocks: 1000, blockSize: 16 }); });
after(() => twin.close());

async function scrape(): Promise<Sample[]> {
  const r = await raw(twin.url, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /text\/plain/);
  // Every non-comment line is a sample the parser accepts.
  const lines = r.text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const samples = parsePrometheusText(r.text);
  assert.equal(samples.length, lines.length);
  return samples;
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test('all vLLM series are present from the first scrape', async () => {
  const s = await scrape();
  for (const name of [
    'vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc',
    'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:num_preemptions_total',
    'vllm:prompt_tokens_total', 'vllm:generation_tokens_total',
    'vllm:time_to_first_token_seconds_count', 'vllm:inter_token_latency_seconds_count',
    'vllm:e2e_request_latency_seconds_count', 'vllm:request_queue_time_seconds_count',
  ]) {
    assert.notEqual(value(s, name, { model_name: MODEL }), undefined, name);
  }
  const info = s.find((x) => x.name === 'vllm:cache_config_info')!;
  assert.equal(info.labels.block_size, '16');
  assert.equal(info.labels.num_gpu_blocks, '1000');
  assert.equal(info.value, 1);
});

test('counters and histograms follow the requests served', async () => {
  const before = await scrape();
  const prompt = 'The same long prompt for every request, to hit the prefix cache. '.repeat(8);
  const usages = [];
  for (let i = 0; i < 3; i++) {
    const r = await post(twin.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 4 });
    assert.equal(r.status, 200);
    usages.push(r.json().usage);
  }
  const after = await scrape();
  const delta = (name: string) => value(after, name, { model_name: MODEL })! - value(before, name, { model_name: MODEL })!;
  const promptTokens = usages.reduce((s, u) => s + u.prompt_tokens, 0);
  const cached = usages.reduce((s, u) => s + u.prompt_tokens_details.cached_tokens, 0);
  assert.equal(delta('vllm:generation_tokens_total'), 12);
  assert.equal(delta('vllm:prefix_cache_queries_total'), promptTokens);
  assert.equal(delta('vllm:prefix_cache_hits_total'), cached);
  assert.ok(cached > 0);
  assert.equal(delta('vllm:time_to_first_token_seconds_count'), 3);
  assert.equal(delta('vllm:inter_token_latency_seconds_count'), 9);
  assert.equal(delta('vllm:e2e_request_latency_seconds_count'), 3);
  assert.equal(value(after, 'vllm:request_success_total', { finished_reason: 'length' }), 3);
  assert.equal(value(after, 'vllm:num_requests_running', { model_name: MODEL }), 0);
  assert.equal(value(after, 'vllm:kv_cache_usage_perc', { model_name: MODEL }), 0);
});
