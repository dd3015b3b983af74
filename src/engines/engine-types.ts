// The engine types a pool endpoint may declare, and the per-type facts the adapters need.

export const ENGINE_TYPES = ['vllm', 'sglang', 'trtllm', 'llamacpp', 'ollama', 'openai', 'twin', 'local'] as const;
export type EngineType = (typeof ENGINE_TYPES)[number];

export function isEngineType(value: string): value is EngineType {
  return (ENGINE_TYPES as readonly string[]).includes(value);
}

/** The path a health probe GETs: a 2xx means the engine is up. */
export const HEALTH_PATH: Record<EngineType, string> = {
  vllm: '/health',
  sglang: '/health',
  trtllm: '/health',
  llamacpp: '/health',
  ollama: '/api/version', // Ollama's native API; it has no /health
  openai: '/v1/models',
  twin: '/health',
  local: '/health',
};
