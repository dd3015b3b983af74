// llama.cpp server: queue counts from /metrics (when started with --metrics), occupancy from
// GET /slots. Recent builds publish no KV-usage gauge, so KV usage is the share of busy slots:
// each slot owns a fixed slice of the context, so busy slots / slots is the share of KV in use.
import { parsePrometheusText } from '../prometheus-text.ts';
import type { MetricScraper } from './index.ts';
import { metricsFromSamples } from './prometheus.ts';

interface Slot {
  is_processing?: boolean;
  state?: number; // older builds: 0 idle, 1 processing
}

export const llamacppScraper: MetricScraper = {
  async scrape(get) {
    const [metrics, slots] = await Promise.allSettled([get('/metrics'), get('/slots')]);
    let m = {};
    let readSomething = false;
    if (metrics.status === 'fulfilled' && metrics.value.status === 200) {
      m = metricsFromSamples(parsePrometheusText(metrics.value.text), {
        waiting: ['llamacpp:requests_deferred'],
        running: ['llamacpp:requests_processing'],
      });
      readSomething = true;
    }
    if (slots.status === 'fulfilled' && slots.value.status === 200) {
      const list = JSON.parse(slots.value.text) as Slot[];
      if (Array.isArray(list) && list.length > 0) {
        const busy = list.filter((s) => s.is_processing === true || s.state === 1).length;
        m = { running: busy, ...m, kvUsage: busy / list.length };
        readSomething = true;
      }
    }
    if (!readSomething) throw new Error('llama.cpp: neither /metrics nor /slots could be read');
    return m;
  },
};
