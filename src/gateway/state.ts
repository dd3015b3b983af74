// Everything a config produces at runtime: pools, the model-name index, API keys and limits.
// A reload builds a new state and swaps it in; requests in flight keep the state they started
// with, and endpoints whose configuration did not change are carried over (same connections,
// breaker and in-flight accounting).
import { EndpointRuntime, type EndpointConfig } from '../engines/endpoint.ts';
import { ApiKeys } from './auth.ts';
import { ApiError as GatewayError } from '../http/api-error.ts';
import type { EndpointYaml, GatewayConfig, PoolConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import { ModelPool } from './model-pool.ts';

export interface GatewayState {
  config: GatewayConfig;
  pools: ModelPool[];
  byModel: Map<string, ModelPool>;
  apiKeys: ApiKeys;
  /** Endpoint runtimes by configuration key, for reuse on reload. */
  endpoints: Map<string, EndpointRuntime>;
}

function endpointConfig(pool: PoolConfig, e: EndpointYaml): EndpointConfig {
  const c: EndpointConfig = { url: e.url, engineType: e.engine, models: [...pool.models, ...(pool.adapters ?? [])] };
  if (e.role) c.role = e.role;
  if (e.timeouts) c.timeouts = e.timeouts;
  if (e.maxConcurrency) c.maxConcurrency = e.maxConcurrency;
  if (e.apiKey) c.apiKey = e.apiKey;
  if (e.bootstrapPort) c.bootstrapPort = e.bootstrapPort;
  if (e.tls) c.tls = e.tls;
  return c;
}

export function buildState(config: GatewayConfig, metrics: GatewayMetrics, logger: Logger, previous?: GatewayState): GatewayState {
  const endpoints = new Map<string, EndpointRuntime>();
  const signals = {
    scrapeIntervalMs: config.signals.scrapeIntervalMs,
    probeTimeoutMs: config.signals.probeTimeoutMs,
    healthIntervalMs: config.signals.healthIntervalMs,
    breaker: { failureThreshold: config.signals.failureThreshold, baseCooldownMs: config.signals.cooldownMs },
  };
  const events = {
    onEjected: (e: EndpointRuntime) => {
      metrics.ejections.labels(e.id).inc();
      metrics.healthy.labels(e.id).set(0);
      logger.log('warn', 'endpoint ejected', { endpoint: e.id, ejections: e.breaker.ejections });
    },
    onReadmitted: (e: EndpointRuntime) => {
      metrics.healthy.labels(e.id).set(1);
      logger.log('info', 'endpoint re-admitted', { endpoint: e.id });
    },
    onScrapeError: (e: EndpointRuntime, err: unknown) => {
      if (logger.enabled('debug')) logger.log('debug', 'metrics scrape failed', { endpoint: e.id, error: String(err) });
    },
  };
  const pools = config.pools.map((p) => {
    const runtimes = p.endpoints.map((e) => {
      const ec = endpointConfig(p, e);
      const key = JSON.stringify([ec, signals]);
      const runtime = endpoints.get(key) ?? previous?.endpoints.get(key) ?? new EndpointRuntime(ec, signals, events);
      endpoints.set(key, runtime);
      metrics.healthy.labels(runtime.id).set(runtime.view.healthy ? 1 : 0);
      return runtime;
    });
    return new ModelPool(p, runtimes, config.limits, metrics, logger);
  });
  const byModel = new Map<string, ModelPool>();
  for (const pool of pools) for (const name of pool.servedNames()) byModel.set(name, pool);
  return { config, pools, byModel, apiKeys: new ApiKeys(config.apiKeys), endpoints };
}

export function startState(state: GatewayState): void {
  for (const pool of state.pools) pool.start();
}

/** Closes what the new state no longer uses; each waits for its in-flight streams to end. */
export async function retireState(old: GatewayState, next: GatewayState | undefined): Promise<void> {
  const kept = new Set(next ? next.endpoints.values() : []);
  // Requests still queued in a pool that lost endpoints would be sent to closed connections:
  // tell them to come back (503 + retry-after) instead.
  for (const pool of old.pools) {
    if (pool.endpoints.some((e) => !kept.has(e))) {
      pool.queue.drain(new GatewayError(503, 'the pool changed while this request waited; retry', { code: 'pool_reloaded', headers: { 'retry-after': '1' } }));
    }
  }
  const closing: Promise<void>[] = old.pools.map((p) => p.close());
  for (const e of old.endpoints.values()) if (!kept.has(e)) closing.push(e.close());
  await Promise.allSettled(closing);
}
