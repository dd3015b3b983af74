// Metric scrapers: one per engine type, each turning what that engine publishes into the common
// metrics of the cluster view (waiting, running, KV usage, block size, number of blocks, LoRA adapters).
// Metric names: ../shared/reference/protocols.md section 2.
import type { EndpointView } from '../../scheduler/types.ts';
import type { EngineType } from '../engine-types.ts';
import { prometheusScraper } from './prometheus.ts';
import { llamacppScraper } from './llamacpp.ts';
import { ollamaScraper } from './ollama.ts';

export type EngineMetrics = Omit<EndpointView['metrics'], 'scrapedAt'>;

/** GETs a path on the engine; resolves with the status and body text (bounded by the caller). */
export type GetText = (path: string) => Promise<{ status: number; text: string }>;

export interface MetricScraper {
  /** Resolves with what could be read; throws when the engine could not be read at all. */
  scrape(get: GetText): Promise<EngineMetrics>;
}

const vllm = prometheusScraper({
  waiting: ['vllm:num_requests_waiting'],
  running: ['vllm:num_requests_running'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  cacheInfo: { metric: 'vllm:cache_config_info', blockSize: 'block_size', numBlocks: 'num_gpu_blocks' },
  loraInfo: { metric: 'vllm:lora_requests_info', running: 'running_lora_adapters', waiting: 'waiting_lora_adapters', max: 'max_lora' },
});

const SCRAPERS: Record<EngineType, MetricScraper | undefined> = {
  vllm,
  twin: vllm, // the twin speaks vLLM's metric names
  sglang: prometheusScraper({
    waiting: ['sglang:num_queue_reqs'],
    running: ['sglang:num_running_reqs'],
    kvUsage: ['sglang:token_usage'],
    cacheInfo: { metric: 'sglang:cache_config_info', blockSize: 'page_size', numBlocks: 'num_pages' },
  }),
  trtllm: prometheusScraper({
    waiting: ['trtllm_num_requests_waiting'],
    running: ['trtllm_num_requests_running'],
    kvUsage: ['trtllm_kv_cache_utilization'],
    blockSize: ['trtllm_kv_cache_tokens_per_block'],
    numBlocks: ['trtllm_kv_cache_max_blocks'],
  }),
  llamacpp: llamacppScraper,
  ollama: ollamaScraper,
  local: vllm,
  openai: undefined, // a hosted OpenAI-compatible API publishes no engine metrics
};

export function scraperFor(engineType: EngineType): MetricScraper | undefined {
  return SCRAPERS[engineType];
}
