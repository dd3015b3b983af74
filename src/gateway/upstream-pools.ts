// `serve --upstream URL --engine-type T`: pools built from the command line. Each served model name
// becomes a pool of the upstreams that list it in /v1/models; LoRA adapters (vLLM lists them with a
// `parent`) join their base model's pool.
import { discoverModels } from '../engines/discovery.ts';
import type { EngineType } from '../engines/engine-types.ts';
import type { KvEventsConfig, PoolConfig } from './config.ts';

export interface UpstreamSpec {
  url: string;
  engineType: EngineType;
  /** The engine's KV event publisher (`--kv-events`), feeding its pool's precise index. */
  kvEvents?: KvEventsConfig;
}

export async function poolsFromUpstreams(upstreams: UpstreamSpec[], policy: string): Promise<PoolConfig[]> {
  const pools = new Map<string, PoolConfig>();
  const adapters: { id: string; parent: string }[] = [];
  for (const u of upstreams) {
    let models;
    try {
      models = await discoverModels(u.url, u.engineType);
    } catch (err) {
      throw new Error(`cannot list models of ${u.url}: ${(err as Error).message}`);
    }
    if (models.length === 0) throw new Error(`${u.url} serves no models`);
    for (const m of models) {
      if (m.parent) {
        adapters.push({ id: m.id, parent: m.parent });
        continue;
      }
      const pool = pools.get(m.id) ?? { name: m.id, models: [m.id], policy, endpoints: [] };
      if (!pool.endpoints.some((e) => e.url === u.url)) pool.endpoints.push({ url: u.url, engine: u.engineType, ...(u.kvEvents ? { kvEvents: u.kvEvents } : {}) });
      pools.set(m.id, pool);
    }
  }
  for (const a of adapters) {
    const pool = pools.get(a.parent);
    if (!pool) continue; // an adapter whose base is not served is not routable
    pool.adapters ??= [];
    if (!pool.adapters.includes(a.id)) pool.adapters.push(a.id);
  }
  return [...pools.values()];
}
