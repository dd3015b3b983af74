// Which models an engine serves, from its OpenAI /v1/models (Ollama: its native /api/tags when
// /v1/models is missing). vLLM lists LoRA adapters there too, with `parent` naming the base model.
import { Upstream } from './upstream.ts';
import type { EngineType } from './engine-types.ts';

export interface DiscoveredModel {
  id: string;
  /** Set for LoRA adapters: the base model they apply to. */
  parent?: string;
}

export async function discoverModels(url: string, engineType: EngineType, timeoutMs = 5_000): Promise<DiscoveredModel[]> {
  const upstream = new Upstream({ url, engineType, maxConnections: 2 });
  try {
    const r = await upstream.getText('/v1/models', timeoutMs);
    if (r.status === 200) {
      const body = JSON.parse(r.text) as { data?: { id?: unknown; parent?: unknown }[] };
      if (!Array.isArray(body.data)) throw new Error(`${url}/v1/models: no data list`);
      return body.data
        .filter((m) => typeof m.id === 'string')
        .map((m) => (typeof m.parent === 'string' && m.parent !== m.id ? { id: m.id as string, parent: m.parent } : { id: m.id as string }));
    }
    if (engineType === 'ollama') {
      const tags = await upstream.getText('/api/tags', timeoutMs);
      if (tags.status === 200) {
        const body = JSON.parse(tags.text) as { models?: { name?: unknown }[] };
        return (body.models ?? []).filter((m) => typeof m.name === 'string').map((m) => ({ id: m.name as string }));
      }
    }
    throw new Error(`${url}/v1/models returned HTTP ${r.status}`);
  } finally {
    await upstream.destroy();
  }
}
