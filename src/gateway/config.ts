// inferstack.yaml: loading, validation (errors name the bad key) and the defaults filled in.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { EngineType } from '../engines/engine-types.ts';
import type { UpstreamTimeouts } from '../engines/upstream.ts';
import type { LocalModelConfig } from '../engines/local/registry.ts';
import { engineConnectOptions, type EngineTlsConfig } from '../trust/tls.ts';
import { policyNames } from '../scheduler/index.ts';
import type { StepTimeModel } from '../physics/types.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { configSchema } from './config-schema.ts';
import { TOKENIZE_ENGINES } from './prompt-tokenizer.ts';
import { PoolHardwareError, stepTimeOf, type PoolHardware } from './pool-hardware.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ListenerConfig {
  host: string;
  port: number;
  tls?: { cert: string; key: string; pq?: 'strict' | 'prefer' | 'off' };
}

export interface EndpointYaml {
  url: string;
  engine: EngineType;
  role?: 'prefill' | 'decode' | 'both';
  maxConcurrency?: number;
  apiKey?: string;
  bootstrapPort?: number;
  timeouts?: Partial<UpstreamTimeouts>;
  /** https endpoints: TLS profile (pq mode, CA, client certificate and key for mutual TLS). */
  tls?: EngineTlsConfig;
  /** The engine's KV event publisher (vLLM --kv-events-config), feeding the pool's precise index. */
  kvEvents?: KvEventsConfig;
}

export interface KvEventsConfig {
  /** ZMQ PUB endpoint, e.g. tcp://10.0.0.5:5557. */
  endpoint: string;
  /** ZMQ ROUTER endpoint serving missed batches after a gap. */
  replayEndpoint?: string;
  topic?: string;
  /** vLLM data parallel behind one API server: rank r publishes on the endpoint's port + r (replay likewise). */
  dataParallelSize?: number;
}

export interface PoolConfig {
  name: string;
  models: string[];
  adapters?: string[];
  policy?: string;
  seed?: number;
  saturation?: { queueDepth: number; kvUsage: number } | null;
  disaggregation?: { threshold?: number };
  endpoints: EndpointYaml[];
  /**
   * GGUF files this process serves with the embedded llama.cpp engine (endpoints `{ engine: local,
   * path }` in the YAML). `serve` starts that engine and adds its endpoint to `endpoints`.
   */
  local?: LocalModelConfig[];
  /** What the pool's engines run (YAML `hardware`): gives the pool its step-time model. */
  hardware?: PoolHardware;
  /** Step-time model of the pool's engines, from `hardware` (or set by code), for inferstack's TTFT prediction in seconds. */
  stepTime?: StepTimeModel;
  /** The local endpoint's own options, given to the endpoint serve adds. */
  localEndpoint?: LocalEndpointOptions;
  /** Where prompts are tokenized for routing (YAML `tokenizer`); without it, the built-in tokenizer and a length estimate. */
  tokenizer?: PoolTokenizerConfig;
}

export type PoolTokenizerConfig =
  | {
      source: 'file';
      /** The model's tokenizer.json; tokenizer_config.json beside it (or `config`) gives the chat template. */
      path: string;
      config?: string;
      /** A Jinja chat template file, overriding the config's (vLLM's --chat-template). */
      chatTemplate?: string;
      /** Loaded at config time, so a bad file is a config error. */
      loaded?: Tokenizer;
    }
  | { source: 'engine'; timeoutMs?: number; /** Chosen by the loader (vLLM engines with kvEvents), not the YAML. */ byDefault?: boolean }
  /** The built-in tokenizer, ids counted (twins without --tokenizer use it). */
  | { source: 'builtin' };

export type LocalEndpointOptions = Pick<EndpointYaml, 'role' | 'maxConcurrency' | 'timeouts'>;

/** The embedded llama.cpp engine's lifecycle settings (see src/engines/local/registry.ts). */
export interface LocalEngineSettings {
  memoryBudgetBytes?: number;
  idleTimeoutMs?: number;
  parallelSequences?: number;
  contextSize?: number;
  threads?: number;
}

/** Model artifacts the embedded engine reads are checked against `lock` (src/trust/admit.ts). */
export interface TrustSettings {
  lock?: string;
  allowUnpinned: boolean;
  allowPickle: boolean;
}

export interface Limits {
  maxBodyBytes: number;
  /** Extra attempts on other endpoints when one fails before the first byte. */
  maxRetries: number;
  /** Requests waiting (per pool) while every endpoint is saturated; beyond it: 429. */
  queueSize: number;
  queueTimeoutMs: number;
}

export interface SignalsConfig {
  scrapeIntervalMs: number;
  probeTimeoutMs: number;
  healthIntervalMs: number;
  failureThreshold: number;
  cooldownMs: number;
}

export interface GatewayConfig {
  listeners: ListenerConfig[];
  apiKeys: string[];
  logLevel: LogLevel;
  limits: Limits;
  signals: SignalsConfig;
  pools: PoolConfig[];
  localEngine?: LocalEngineSettings;
  trust?: TrustSettings;
}

export const DEFAULT_LIMITS: Limits = { maxBodyBytes: 4 * 1024 * 1024, maxRetries: 2, queueSize: 1024, queueTimeoutMs: 30_000 };
export const DEFAULT_SIGNALS_CONFIG: SignalsConfig = { scrapeIntervalMs: 50, probeTimeoutMs: 2_000, healthIntervalMs: 500, failureThreshold: 3, cooldownMs: 1_000 };
export const DEFAULT_POLICY = 'inferstack';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(configSchema);

/** `/pools/0/endpoints/1/engine` -> `pools[0].endpoints[1].engine` */
function keyPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || '(top level)';
}

function describe(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${keyPath(e.instancePath, String(params.additionalProperty))}: unknown key`;
  if (e.keyword === 'required') return `${keyPath(e.instancePath, String(params.missingProperty))}: required key is missing`;
  if (e.keyword === 'enum') return `${keyPath(e.instancePath)}: must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
  return `${keyPath(e.instancePath)}: ${e.message ?? 'is invalid'}`;
}

/** Validates a parsed document and fills in defaults; throws ConfigError naming every bad key. */
export function validateConfig(doc: unknown, source = 'config'): GatewayConfig {
  if (!validate(doc)) {
    // oneOf failures repeat their branches' errors; the branch errors are the useful ones.
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf');
    const lines = [...new Set(errors.map(describe))].slice(0, 10);
    throw new ConfigError(`${source}: ${lines.join('; ')}`);
  }
  const raw = doc as Partial<Omit<GatewayConfig, 'listeners'>> & { pools: PoolConfig[]; listeners?: Partial<ListenerConfig>[] };
  const models = new Map<string, string>();
  const policies = policyNames();
  for (const [i, pool] of raw.pools.entries()) {
    if (pool.policy !== undefined && !policies.includes(pool.policy)) {
      throw new ConfigError(`${source}: pools[${i}].policy: must be one of ${policies.join(', ')}`);
    }
    for (const name of [...pool.models, ...(pool.adapters ?? [])]) {
      const other = models.get(name);
      if (other !== undefined) throw new ConfigError(`${source}: pools[${i}].models: '${name}' is already served by pool '${other}'`);
      models.set(name, pool.name);
    }
  }
  const pools = raw.pools.map((pool, i) => {
    const where = `${source}: pools[${i}]`;
    return withTokenizer(withStepTime(resolveEndpoints(pool, where), where), where);
  });
  return {
    listeners: (raw.listeners ?? [{} as Partial<ListenerConfig>]).map((l) => ({ host: l.host ?? '127.0.0.1', port: l.port ?? 8080, ...(l.tls ? { tls: l.tls } : {}) })),
    apiKeys: raw.apiKeys ?? [],
    logLevel: raw.logLevel ?? 'info',
    limits: { ...DEFAULT_LIMITS, ...raw.limits },
    signals: { ...DEFAULT_SIGNALS_CONFIG, ...raw.signals },
    pools,
    localEngine: raw.localEngine ?? {},
    trust: { allowUnpinned: false, allowPickle: false, ...raw.trust },
  };
}

/** An endpoint as the YAML gives it: an engine at `url`, or GGUF files for the embedded engine. */
type EndpointInput = Omit<EndpointYaml, 'url' | 'tls'> & { url?: string; path?: string; models?: { name: string; path: string }[]; tls?: Partial<EngineTlsConfig> };

/**
 * Sorts a pool's endpoints into engines reached by URL and GGUF files for the embedded engine
 * (`local`), checking what the schema cannot say: which of url / path / models an endpoint gives,
 * which models a local file serves, and that engine TLS files load.
 */
function resolveEndpoints(pool: PoolConfig, where: string): PoolConfig {
  const remote: EndpointYaml[] = [];
  let local: LocalModelConfig[] | undefined;
  let localEndpoint: LocalEndpointOptions = {};
  for (const [j, e] of (pool.endpoints as EndpointInput[]).entries()) {
    const at = `${where}.endpoints[${j}]`;
    const given = [e.url, e.path, e.models].filter((v) => v !== undefined).length;
    if (given > 1) throw new ConfigError(`${at}: give one of url, path or models`);
    if (e.path !== undefined || e.models !== undefined) {
      if (e.engine !== 'local') throw new ConfigError(`${at}.${e.path !== undefined ? 'path' : 'models'}: only for engine local (a GGUF file served in this process)`);
      if (local) throw new ConfigError(`${at}: a pool has at most one local endpoint (list several files under models)`);
      local = localModels(pool, e, at);
      const { engine: _e, path: _p, models: _m, ...options } = e;
      for (const key of ['apiKey', 'bootstrapPort', 'tls'] as const) {
        if (options[key] !== undefined) throw new ConfigError(`${at}.${key}: not for a model file served in this process`);
      }
      localEndpoint = options;
      continue;
    }
    if (e.url === undefined) throw new ConfigError(`${at}.url: required key is missing${e.engine === 'local' ? ' (or path: a GGUF file to serve in this process)' : ''}`);
    const { path: _p, models: _m, ...endpoint } = e;
    if (e.tls) endpoint.tls = checkEngineTls(e.tls, e.url, `${at}.tls`);
    if ((e.kvEvents?.dataParallelSize ?? 1) > 1 && ![e.kvEvents!.endpoint, e.kvEvents!.replayEndpoint].every((x) => x === undefined || /:\d+$/.test(x))) {
      throw new ConfigError(`${at}.kvEvents: dataParallelSize needs endpoints with a port number (rank r publishes on port + r)`);
    }
    remote.push(endpoint as EndpointYaml);
  }
  return { ...pool, endpoints: remote, ...(local ? { local, localEndpoint } : {}) };
}

/** A pool with `hardware` gets the physics step-time model of it (errors name the hardware key). */
function withStepTime(pool: PoolConfig, where: string): PoolConfig {
  if (!pool.hardware) return pool;
  try {
    return { ...pool, stepTime: stepTimeOf(pool.hardware) };
  } catch (err) {
    if (!(err instanceof PoolHardwareError)) throw err;
    throw new ConfigError(`${where}.hardware${err.key ? `.${err.key}` : ''}: ${err.message}`);
  }
}

/**
 * Loads a `file` tokenizer now (errors name the key); an `engine` one needs engines that serve
 * /tokenize. Without the key, a pool whose vLLM engines publish KV events asks them (their events
 * key blocks by the model's token ids, which the built-in tokenizer never reproduces); other pools
 * estimate lengths and tokenize with the built-in tokenizer only for policies that read ids.
 */
function withTokenizer(pool: PoolConfig, where: string): PoolConfig {
  // As the YAML gives it: any of the keys, with any source.
  const t = pool.tokenizer as { source: 'file' | 'engine' | 'builtin'; path?: string; config?: string; chatTemplate?: string; timeoutMs?: number } | undefined;
  if (!t) return pool.endpoints.some((e) => e.kvEvents && e.engine === 'vllm') ? { ...pool, tokenizer: { source: 'engine', byDefault: true } } : pool;
  const at = `${where}.tokenizer`;
  if (t.source !== 'file') {
    for (const key of ['path', 'config', 'chatTemplate'] as const) if (t[key] !== undefined) throw new ConfigError(`${at}.${key}: only for source file`);
  }
  if (t.source === 'builtin') {
    if (t.timeoutMs !== undefined) throw new ConfigError(`${at}.timeoutMs: only for source engine`);
    return pool;
  }
  if (t.source === 'engine') {
    if (!pool.endpoints.some((e) => TOKENIZE_ENGINES.includes(e.engine))) throw new ConfigError(`${at}.source: engine needs an endpoint that serves /tokenize (engine ${TOKENIZE_ENGINES.join(' or ')})`);
    return pool;
  }
  if (t.timeoutMs !== undefined) throw new ConfigError(`${at}.timeoutMs: only for source engine`);
  if (t.path === undefined) throw new ConfigError(`${at}.path: required key is missing (the model's tokenizer.json)`);
  let chatTemplate: string | undefined;
  if (t.chatTemplate !== undefined) {
    try {
      chatTemplate = readFileSync(t.chatTemplate, 'utf8');
    } catch (err) {
      throw new ConfigError(`${at}.chatTemplate: cannot read ${t.chatTemplate}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  try {
    const loaded = createTokenizer({ tokenizerJsonPath: t.path, ...(t.config ? { tokenizerConfigPath: t.config } : {}), ...(chatTemplate !== undefined ? { chatTemplate } : {}) });
    return { ...pool, tokenizer: { source: 'file', path: t.path, ...(t.config ? { config: t.config } : {}), ...(t.chatTemplate ? { chatTemplate: t.chatTemplate } : {}), loaded } };
  } catch (err) {
    throw new ConfigError(`${at}: ${(err as Error).message}`);
  }
}

function localModels(pool: PoolConfig, e: EndpointInput, at: string): LocalModelConfig[] {
  if (e.path !== undefined) {
    if (pool.models.length !== 1) throw new ConfigError(`${at}.path: the pool serves ${pool.models.length} models; give each its file under models: [{name, path}]`);
    return [{ name: pool.models[0]!, path: e.path }];
  }
  const files = e.models!;
  for (const m of files) if (!pool.models.includes(m.name)) throw new ConfigError(`${at}.models: '${m.name}' is not in the pool's models`);
  for (const name of pool.models) {
    const n = files.filter((m) => m.name === name).length;
    if (n !== 1) throw new ConfigError(`${at}.models: model '${name}' needs exactly one file, got ${n}`);
  }
  return files.map((m) => ({ name: m.name, path: m.path }));
}

/** Engine TLS files are read now, so a missing CA or a key that does not fit its certificate fails the config, not the first request. */
function checkEngineTls(tls: Partial<EngineTlsConfig>, url: string, at: string): EngineTlsConfig {
  if (!url.startsWith('https://')) throw new ConfigError(`${at}: only for https urls`);
  const full = { ...tls, pq: tls.pq ?? 'prefer' };
  try {
    createSecureContext(engineConnectOptions(full));
  } catch (err) {
    throw new ConfigError(`${at}: ${(err as Error).message.split('\n')[0]}`);
  }
  return full;
}

export function parseConfigText(text: string, source: string): GatewayConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateConfig(doc, source);
}

export async function loadConfigFile(path: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, path);
}
