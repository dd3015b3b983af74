// The embedded llama.cpp engine behind config pools with `{ engine: local, path }` endpoints and
// behind `serve --model`. Every GGUF goes through the trust layer's model gate (size + SHA-256
// against models.lock, before any parser reads a byte) once before the engine starts, and again
// right before each load, so a file swapped while serving is refused too. One engine server holds
// every local model, so they share one memory budget; the pools' endpoints name its URL, and their
// Upstreams call it in-process through that name (src/engines/in-process.ts): no socket between
// the gateway and the engine, and its load read directly instead of scraped.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { LocalEngineServer } from '../engines/local/server.ts';
import type { LocalModelConfig } from '../engines/local/registry.ts';
import { createModelGate, type ModelGate } from '../trust/admit.ts';
import type { GatewayConfig, TrustSettings } from './config.ts';

export const DEFAULT_LOCK = 'models.lock';
/** How long a local engine replaced by a reload may finish its requests before it is closed anyway. */
const RETIRE_MAX_WAIT_MS = 10 * 60_000;

/** Every GGUF file the config's pools serve in this process. */
export function localModelsOf(config: GatewayConfig): LocalModelConfig[] {
  return config.pools.flatMap((p) => p.local ?? []);
}

/** The lock the gate reads: the one named, else ./models.lock when there is one. */
export function lockPathOf(trust: TrustSettings | undefined): string | undefined {
  return trust?.lock ?? (existsSync(DEFAULT_LOCK) ? DEFAULT_LOCK : undefined);
}

export async function openModelGate(trust: TrustSettings | undefined): Promise<ModelGate> {
  const lock = lockPathOf(trust);
  const allowUnpinned = trust?.allowUnpinned ?? false;
  if (!lock && !allowUnpinned) {
    throw new Error(`no ${DEFAULT_LOCK} to check local models against: lock them with 'inferstack models lock', name a lock (--lock FILE, trust.lock), or allow unpinned models (--allow-unpinned, trust.allowUnpinned)`);
  }
  return createModelGate({ ...(lock ? { lock } : {}), allowUnpinned, allowPickle: trust?.allowPickle ?? false });
}

export interface Verification {
  models: number;
  /** models the lock lists (the rest were admitted as unpinned, format checks only) */
  pinned: number;
  hashedBytes: number;
  ms: number;
}

/** Runs the gate over every model; the first refusal throws one line naming the model and its file. */
export async function verifyLocalModels(gate: ModelGate, models: LocalModelConfig[]): Promise<Verification> {
  const start = performance.now();
  let hashedBytes = 0;
  let pinned = 0;
  for (const m of models) {
    const admission = await admit(gate, m);
    hashedBytes += admission.hashedBytes;
    if (admission.pinned) pinned++;
  }
  return { models: models.length, pinned, hashedBytes, ms: performance.now() - start };
}

async function admit(gate: ModelGate, m: LocalModelConfig) {
  try {
    return await gate(m.path);
  } catch (err) {
    throw new Error(`model '${m.name}' (${m.path}) refused: ${(err as Error).message.split('\n')[0]}`);
  }
}

export interface LocalEngine {
  /** Models and settings it was started with; a reload with the same key keeps this engine. */
  readonly key: string;
  readonly server: LocalEngineServer;
  /** The config with each local pool's endpoint pointing at this engine. */
  attach(config: GatewayConfig): GatewayConfig;
  close(): Promise<void>;
  /** Closes once no request is running or waiting (bounded), for an engine a reload replaced. */
  retire(): Promise<void>;
}

export function localEngineKey(config: GatewayConfig): string {
  return JSON.stringify([localModelsOf(config), config.localEngine ?? {}]);
}

/**
 * Starts the engine for the config's local models. `gate` is read at every load (not captured), so a
 * reload that changes the lock applies to models loaded afterwards. Call verifyLocalModels first.
 */
export async function startLocalEngine(config: GatewayConfig, gate: () => ModelGate): Promise<LocalEngine> {
  const models = localModelsOf(config);
  const paths = new Map(models.map((m) => [m.name, m.path]));
  // Loaded only here: node-llama-cpp is heavy and only local pools need it.
  const { startLocalEngineServer } = await import('../engines/local/server.ts');
  const server = await startLocalEngineServer({
    models,
    ...config.localEngine,
    host: '127.0.0.1',
    port: 0,
    beforeLoad: async (name) => {
      await admit(gate(), { name, path: paths.get(name)! });
    },
  });
  return {
    key: localEngineKey(config),
    server,
    attach: (c) => ({
      ...c,
      pools: c.pools.map((p) => (p.local ? { ...p, endpoints: [...p.endpoints, { ...p.localEndpoint, url: server.url, engine: 'local' as const }] } : p)),
    }),
    close: () => server.close(),
    retire: async () => {
      // The first pause lets requests the gateway already sent here arrive and count as busy.
      const deadline = performance.now() + RETIRE_MAX_WAIT_MS;
      do await new Promise((r) => setTimeout(r, 100));
      while (busy(server) && performance.now() < deadline);
      await server.close();
    },
  };
}

function busy(server: LocalEngineServer): boolean {
  return server.registry.status().some((m) => (m.stats ? m.stats.running + m.stats.waiting : 0) + server.registry.loadWaiters(m.name) > 0);
}
