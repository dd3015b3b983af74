import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText } from '../../src/engines/prometheus-text.ts';
import { scraperFor, type GetText } from '../../src/engines/scrapers/index.ts';

const served = (pages: Record<string, string | number>): GetText => async (path) => {
  const page = pages[path];
  if (page === undefined) return { status: 404, text: 'not found' };
  if (typeof page === 'number') return { status: page, text: '' };
  return { status: 200, text: page };
};

test('prometheus text: labels with escapes, special values, comments and junk lines', () => {
  const s = parsePrometheusText(
    ['# HELP x y', 'a 1', 'b{l="v\\"q\\\\",m="2"} 3.5 1700000000', 'c +Inf', 'd NaN', 'garbage', 'e{broken="} 1', ''].join('\n'),
  );
  assert.deepEqual(s.map((x) => x.name), ['a', 'b', 'c', 'd']);
  assert.deepEqual(s[1]!.labels, { l: 'v"q\\', m: '2' });
  assert.equal(s[1]!.value, 3.5);
  assert.equal(s[2]!.value, Infinity);
});

test('vLLM: sums ranks, prefers kv_cache_usage_perc, reads cache_config_info labels; old name accepted', async () => {
  const m = await scraperFor('vllm')!.scrape(served({
    '/metrics': [
      'vllm:num_requests_waiting{model_name="m",engine="0"} 2',
      'vllm:num_requests_waiting{model_name="m",engine="1"} 3',
      'vllm:num_requests_running{model_name="m",engine="0"} 7',
      'vllm:kv_cache_usage_perc{model_name="m",engine="0"} 0.25',
      'vllm:kv_cache_usage_perc{model_name="m",engine="1"} 0.75',
      'vllm:cache_config_info{block_size="16",num_gpu_blocks="4096",cache_dtype="auto"} 1',
    ].join('\n'),
  }));
  assert.deepEqual(m, { waiting: 5, running: 7, kvUsage: 0.5, blockSize: 16, numGpuBlocks: 4096 });
  const old = await scraperFor('vllm')!.scrape(served({ '/metrics': 'vllm:gpu_cache_usage_perc{model_name="m"} 0.4' }));
  assert.deepEqual(old, { kvUsage: 0.4 });
  // Data parallel: one cache per rank, so the endpoint's capacity is their sum.
  const dp = await scraperFor('vllm')!.scrape(served({
    '/metrics': ['vllm:cache_config_info{block_size="16",num_gpu_blocks="4096",engine="0"} 1', 'vllm:cache_config_info{block_size="16",num_gpu_blocks="4000",engine="1"} 1'].join('\n'),
  }));
  assert.deepEqual(dp, { blockSize: 16, numGpuBlocks: 8096 });
  await assert.rejects(scraperFor('vllm')!.scrape(served({ '/metrics': 500 })), /HTTP 500/);
});

test('vLLM LoRA: the newest lora_requests_info series names the adapters running and waiting, and max_lora', async () => {
  const m = await scraperFor('vllm')!.scrape(served({
    '/metrics': [
      // vLLM keeps every label set it has reported, valued with the time it was set.
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters="old-adapter",waiting_lora_adapters=""} 1700000000.5',
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters="sql-lora,math-lora"} 1700000100.25',
      'vllm:lora_requests_info{max_lora="2",running_lora_adapters="",waiting_lora_adapters=""} 1700000050',
    ].join('\n'),
  }));
  assert.deepEqual(m.lora, { active: ['sql-lora', 'chat-lora', 'math-lora'], max: 2 });
  const none = await scraperFor('vllm')!.scrape(served({ '/metrics': 'vllm:num_requests_waiting 0' }));
  assert.equal(none.lora, undefined, 'no metric, no claim');
});

test('SGLang and TensorRT-LLM names', async () => {
  const sg = await scraperFor('sglang')!.scrape(served({
    '/metrics': 'sglang:num_queue_reqs{model_name="m"} 4\nsglang:num_running_reqs{model_name="m"} 9\nsglang:token_usage{model_name="m"} 0.6\nsglang:cache_config_info{page_size="1",num_pages="300000"} 1\n',
  }));
  assert.deepEqual(sg, { waiting: 4, running: 9, kvUsage: 0.6, blockSize: 1, numGpuBlocks: 300000 });
  const trt = await scraperFor('trtllm')!.scrape(served({
    '/metrics': 'trtllm_num_requests_waiting 1\ntrtllm_num_requests_running 2\ntrtllm_kv_cache_utilization 0.3\ntrtllm_kv_cache_tokens_per_block 32\ntrtllm_kv_cache_max_blocks 2000\n',
  }));
  assert.deepEqual(trt, { waiting: 1, running: 2, kvUsage: 0.3, blockSize: 32, numGpuBlocks: 2000 });
});

test('llama.cpp: queue from /metrics, occupancy from /slots (either alone is enough)', async () => {
  const slots = JSON.stringify([{ id: 0, is_processing: true }, { id: 1, is_processing: false }, { id: 2, is_processing: true }, { id: 3, is_processing: false }]);
  const both = await scraperFor('llamacpp')!.scrape(served({ '/metrics': 'llamacpp:requests_deferred 3\nllamacpp:requests_processing 2\n', '/slots': slots }));
  assert.deepEqual(both, { waiting: 3, running: 2, kvUsage: 0.5 });
  const slotsOnly = await scraperFor('llamacpp')!.scrape(served({ '/slots': slots }));
  assert.deepEqual(slotsOnly, { running: 2, kvUsage: 0.5 });
  await assert.rejects(scraperFor('llamacpp')!.scrape(served({})), /neither/);
});

test('Ollama: native /api/ps is read; no queue metrics exist; hosted OpenAI has no scraper', async () => {
  assert.deepEqual(await scraperFor('ollama')!.scrape(served({ '/api/ps': JSON.stringify({ models: [{ name: 'llama3.2' }] }) })), {});
  await assert.rejects(scraperFor('ollama')!.scrape(served({ '/api/ps': '{}' })), /no models list/);
  assert.equal(scraperFor('openai'), undefined);
});
