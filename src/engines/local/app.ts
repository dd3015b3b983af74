// The embedded engine without its transport: the model registry, its metrics and the route table.
// server.ts carries it over node:http; dispatch.ts hands it the gateway's requests in-process.
import { ModelRegistry, type ModelStatus, type RegistryOptions } from './registry.ts';
import { LocalEngineMetrics } from './metrics.ts';
import { handleGeneration } from './completions.ts';
import { AbortedError } from './engine.ts';
import { ApiError, asApiError, notFound } from '../../http/api-error.ts';
import type { JsonObject } from '../../http/fields.ts';
import type { EngineMetrics } from '../scrapers/index.ts';
import type { Responder } from './responder.ts';

export type LocalEngineOptions = Omit<RegistryOptions, 'onLoad' | 'onUnload'>;

/** Reads the request body as one JSON object (each transport enforces its size limit). */
export type BodyReader = () => Promise<JsonObject>;

type Route = (body: BodyReader, r: Responder) => Promise<void> | void;

export interface LocalEngineApp {
  registry: ModelRegistry;
  metrics: LocalEngineMetrics;
  /** Answers one request; never throws (errors become error responses). */
  handle(method: string, path: string, body: BodyReader, r: Responder): Promise<void>;
  /** The engine view the gateway's scheduler reads: the same numbers its vLLM scraper reads from /metrics. */
  view(): EngineMetrics;
  close(): Promise<void>;
}

export async function createLocalEngineApp(opts: LocalEngineOptions): Promise<LocalEngineApp> {
  let metrics: LocalEngineMetrics | undefined;
  const registry = await ModelRegistry.create({
    ...opts,
    onLoad: (model, s) => metrics?.observeColdStart(model, s),
    onUnload: (model, reason) => metrics?.countUnload(model, reason),
  });
  metrics = new LocalEngineMetrics(() => registry.status(), (m) => registry.loadWaiters(m));
  const deps = { registry, metrics };
  const created = Math.floor(Date.now() / 1000);

  const routes: Record<string, Route> = {
    'GET /health': (_b, r) => r.json(200, { status: 'ok' }),
    'GET /v1/models': (_b, r) =>
      r.json(200, {
        object: 'list',
        data: registry.status().map((m) => ({ id: m.name, object: 'model', created, owned_by: 'inferstack-local', status: m.state, loaded: m.state === 'loaded' })),
      }),
    'GET /slots': (_b, r) => r.json(200, registry.slots()),
    'GET /metrics': async (_b, r) => {
      const { contentType, body } = await metrics.text();
      r.text(200, body, contentType);
    },
    'POST /v1/chat/completions': (body, r) => handleGeneration('chat', body, r, deps),
    'POST /v1/completions': (body, r) => handleGeneration('completion', body, r, deps),
    'POST /v1/responses': (body, r) => handleGeneration('responses', body, r, deps),
  };

  return {
    registry,
    metrics,
    async handle(method, path, body, r) {
      try {
        const route = routes[`${method} ${path}`];
        if (!route) {
          const known = Object.keys(routes).some((k) => k.endsWith(` ${path}`));
          throw known ? new ApiError(405, `${method} is not allowed on ${path}`) : notFound(`no route ${method} ${path}`);
        }
        await route(body, r);
      } catch (err) {
        if (err instanceof AbortedError) r.drop();
        else r.fail(asApiError(err, 'local engine'));
      }
    },
    view: () => engineView(registry.status(), (m) => registry.loadWaiters(m)),
    close: () => registry.close(),
  };
}

/**
 * What the gateway's vLLM scraper makes of this engine's /metrics (scrapers/prometheus.ts), computed
 * from the registry instead: waiting and running summed over models, KV use averaged over loaded
 * models, block size 1 and the first loaded model's KV capacity (vllm:cache_config_info).
 */
export function engineView(models: ModelStatus[], loadWaiters: (model: string) => number): EngineMetrics {
  let waiting = 0;
  let running = 0;
  let kvSum = 0;
  let loaded = 0;
  let capacity: number | undefined;
  for (const m of models) {
    waiting += (m.stats?.waiting ?? 0) + loadWaiters(m.name);
    running += m.stats?.running ?? 0;
    if (!m.stats) continue;
    loaded++;
    kvSum += m.stats.kvUsedTokens / m.stats.kvCapacityTokens;
    capacity ??= m.stats.kvCapacityTokens;
  }
  const view: EngineMetrics = { waiting, running };
  if (loaded > 0) {
    view.kvUsage = Math.min(1, Math.max(0, kvSum / loaded));
    view.blockSize = 1;
    view.numGpuBlocks = capacity!;
  }
  return view;
}
