// Ollama publishes no queue or KV metrics. Its native API says which models are loaded
// (GET /api/ps), which is all there is to read; the view relies on the gateway's own in-flight
// accounting for load. A failed read still tells the health tracker the engine is down.
import type { MetricScraper } from './index.ts';

export const ollamaScraper: MetricScraper = {
  async scrape(get) {
    const r = await get('/api/ps');
    if (r.status !== 200) throw new Error(`GET /api/ps returned HTTP ${r.status}`);
    const body = JSON.parse(r.text) as { models?: unknown[] };
    if (!Array.isArray(body.models)) throw new Error('GET /api/ps: no models list');
    return {};
  },
};
