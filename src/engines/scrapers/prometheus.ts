// A scraper for engines that publish Prometheus text at /metrics, driven by a table of names.
import { parsePrometheusText, type Sample } from '../prometheus-text.ts';
import type { EngineMetrics, MetricScraper } from './index.ts';

export interface PrometheusNames {
  waiting?: string[];
  running?: string[];
  /** Alternatives in order of preference (the first name present wins). */
  kvUsage?: string[];
  blockSize?: string[];
  numBlocks?: string[];
  /** An info metric whose labels carry the block size and block count. */
  cacheInfo?: { metric: string; blockSize: string; numBlocks: string };
  /** An info metric whose labels name the running and waiting LoRA adapters (comma-separated) and the most batched at once. */
  loraInfo?: { metric: string; running: string; waiting: string; max: string };
}

/** Sums a metric over its series (one per model or data-parallel rank); undefined when absent. */
function sum(samples: Sample[], names: string[] | undefined): number | undefined {
  for (const name of names ?? []) {
    let total: number | undefined;
    for (const s of samples) if (s.name === name && Number.isFinite(s.value)) total = (total ?? 0) + s.value;
    if (total !== undefined) return total;
  }
  return undefined;
}

/** Averages a 0..1 ratio over its series. */
function mean(samples: Sample[], names: string[] | undefined): number | undefined {
  for (const name of names ?? []) {
    const values = samples.filter((s) => s.name === name && Number.isFinite(s.value)).map((s) => s.value);
    if (values.length > 0) return values.reduce((a, b) => a + b, 0) / values.length;
  }
  return undefined;
}

function labelNumber(samples: Sample[], metric: string, label: string): number | undefined {
  for (const s of samples) {
    if (s.name !== metric) continue;
    const v = Number(s.labels[label]);
    if (s.labels[label] !== undefined && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** A label's number summed over the metric's series, one per data-parallel rank (`engine` label). */
function labelSum(samples: Sample[], metric: string, label: string): number | undefined {
  const byRank = new Map<string, number>();
  for (const s of samples) {
    const v = Number(s.labels[label]);
    if (s.name === metric && s.labels[label] !== undefined && Number.isFinite(v)) byRank.set(s.labels.engine ?? '', v);
  }
  return byRank.size > 0 ? [...byRank.values()].reduce((a, b) => a + b, 0) : undefined;
}

/**
 * The adapters a LoRA info metric names. vLLM keeps one series per label set it has ever reported,
 * valued with the time it was set: the newest is the current state.
 */
function loraState(samples: Sample[], info: NonNullable<PrometheusNames['loraInfo']>): EngineMetrics['lora'] {
  let newest: Sample | undefined;
  for (const s of samples) if (s.name === info.metric && (!newest || s.value > newest.value)) newest = s;
  if (!newest) return undefined;
  const names = (label: string) => (newest.labels[label] ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  const max = Number(newest.labels[info.max]);
  return { active: [...new Set([...names(info.running), ...names(info.waiting)])], max: Number.isFinite(max) && max > 0 ? max : 1 };
}

export function metricsFromSamples(samples: Sample[], names: PrometheusNames): EngineMetrics {
  const m: EngineMetrics = {};
  const waiting = sum(samples, names.waiting);
  const running = sum(samples, names.running);
  const kvUsage = mean(samples, names.kvUsage);
  let blockSize = sum(samples, names.blockSize);
  let numGpuBlocks = sum(samples, names.numBlocks);
  if (names.cacheInfo) {
    blockSize ??= labelNumber(samples, names.cacheInfo.metric, names.cacheInfo.blockSize);
    // Each data-parallel rank has its own cache; the endpoint holds them all.
    numGpuBlocks ??= labelSum(samples, names.cacheInfo.metric, names.cacheInfo.numBlocks);
  }
  if (waiting !== undefined) m.waiting = waiting;
  if (running !== undefined) m.running = running;
  if (kvUsage !== undefined) m.kvUsage = Math.min(1, Math.max(0, kvUsage));
  if (blockSize !== undefined) m.blockSize = blockSize;
  if (numGpuBlocks !== undefined) m.numGpuBlocks = numGpuBlocks;
  const lora = names.loraInfo && loraState(samples, names.loraInfo);
  if (lora) m.lora = lora;
  return m;
}

export function prometheusScraper(names: PrometheusNames): MetricScraper {
  return {
    async scrape(get) {
      const r = await get('/metrics');
      if (r.status !== 200) throw new Error(`GET /metrics returned HTTP ${r.status}`);
      return metricsFromSamples(parsePrometheusText(r.text), names);
    },
  };
}
