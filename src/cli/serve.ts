// inferstack serve: the OpenAI-compatible gateway. Three ways to say what it serves:
//   --config inferstack.yaml                 pools, keys and listeners from a file (SIGHUP reloads it)
//   --upstream URL [--engine-type T] ...     pools from the upstreams' /v1/models
//   --model path.gguf ...                    the embedded llama.cpp engine, in this process
//   (none of these)                          four simulated engines in this process
// GGUF files served in this process (--model, or config endpoints `{ engine: local, path }`) are
// checked against models.lock before anything parses them (src/gateway/local-engine.ts).
import { parseArgs } from 'node:util';
import { isEngineType, ENGINE_TYPES, type EngineType } from '../engines/engine-types.ts';
import { ConfigError, DEFAULT_POLICY, loadConfigFile, validateConfig, type GatewayConfig, type LogLevel, type PoolConfig } from '../gateway/config.ts';
import type { EmbeddedTwins } from '../gateway/embedded-default.ts';
import { localEngineKey, localModelsOf, lockPathOf, openModelGate, startLocalEngine, verifyLocalModels, type LocalEngine, type Verification } from '../gateway/local-engine.ts';
import { createLogger } from '../gateway/logger.ts';
import { startGateway } from '../gateway/server.ts';
import { poolsFromUpstreams } from '../gateway/upstream-pools.ts';
import { policyNames } from '../scheduler/index.ts';
import type { ModelGate } from '../trust/admit.ts';
import { localModelsFromArgs } from '../engines/local/model-args.ts';
import { PQ_MODES } from '../trust/tls.ts';
import { CliError } from './cli-error.ts';
import { numberFlag } from './flags.ts';
import { hardwareFlag } from './hardware-flag.ts';

const HELP = `usage: inferstack serve [options]

  --config FILE          inferstack.yaml (see inferstack.example.yaml); SIGHUP reloads it
  --upstream URL         an OpenAI-compatible engine (repeatable); models from its /v1/models
  --engine-type T        engine type of the upstreams (once for all, or once per --upstream):
                         ${ENGINE_TYPES.join(', ')} (default vllm)
  --policy NAME          routing policy for --upstream and the default engines (default ${DEFAULT_POLICY})
  --hardware SPEC        what the upstreams run, for the inferstack policy's TTFT model:
                         model=ID,gpu=ID[,tp=N][,dtype=D][,kv-dtype=D][,engine=vllm|trtllm]
  --tokenizer engine|PATH  how the gateway tokenizes prompts for the upstreams (precise prefix keys,
                         counted prompt lengths): their own /tokenize, or the model's tokenizer.json
  --kv-events PUB[,REPLAY] an upstream's KV event publisher (vLLM --kv-events-config), e.g.
                         tcp://10.0.0.5:5557: once per --upstream, in order; feeds precise routing
  --host HOST            listen address (default 127.0.0.1)
  --port PORT            listen port (default 8080; 0 picks a free one)
  --api-key KEY          require this bearer key (repeatable)
  --log-level LEVEL      debug, info, warn, error (default info)
  --tls-cert FILE --tls-key FILE [--tls-pq strict|prefer|off]   serve HTTPS (default pq: prefer)
  --model [NAME=]PATH    serve a GGUF file with the embedded llama.cpp engine (repeatable)
  --lock FILE            models.lock that local GGUF files must match (default ./models.lock if present)
  --allow-unpinned       serve local model files the lock does not list (still format-checked)
  --allow-pickle         allow pickle-based model files (they can run code when loaded)
  --twins N              simulated engines when no config or upstream is given (default 4)
  --timing model|instant simulated engines' timing (default model)
`;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

function engineTypes(upstreams: string[], types: string[]): EngineType[] {
  for (const t of types) if (!isEngineType(t)) throw new CliError(`--engine-type must be one of ${ENGINE_TYPES.join(', ')}, got '${t}'`);
  if (types.length > 1 && types.length !== upstreams.length) throw new CliError('give --engine-type once for all upstreams or once per --upstream');
  return upstreams.map((_, i) => (types.length === 0 ? 'vllm' : (types[types.length === 1 ? 0 : i] as EngineType)));
}

/** `--kv-events PUB[,REPLAY]`, once per --upstream (or none). */
function kvEventsFlags(upstreams: string[], flags: string[]): ({ endpoint: string; replayEndpoint?: string } | undefined)[] {
  if (flags.length === 0) return upstreams.map(() => undefined);
  if (flags.length !== upstreams.length) throw new CliError(`give --kv-events once per --upstream (${upstreams.length}), got ${flags.length}`);
  return flags.map((f) => {
    const [endpoint, replayEndpoint, extra] = f.split(',');
    if (extra !== undefined || ![endpoint, replayEndpoint].every((e) => e === undefined || /^tcp:\/\/\S+:\d+$/.test(e))) {
      throw new CliError(`--kv-events wants tcp://HOST:PORT[,tcp://HOST:PORT], got '${f}'`);
    }
    return { endpoint: endpoint!, ...(replayEndpoint ? { replayEndpoint } : {}) };
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: 'string' },
      upstream: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      'engine-type': { type: 'string', multiple: true },
      policy: { type: 'string' },
      hardware: { type: 'string' },
      tokenizer: { type: 'string' },
      'kv-events': { type: 'string', multiple: true },
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-pq': { type: 'string' },
      twins: { type: 'string' },
      timing: { type: 'string' },
      lock: { type: 'string' },
      'allow-unpinned': { type: 'boolean' },
      'allow-pickle': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  if ([values.config, values.upstream, values.model].filter(Boolean).length > 1) throw new CliError('give one of --config, --upstream or --model');
  if (values.timing !== undefined && values.timing !== 'model' && values.timing !== 'instant') throw new CliError(`--timing must be model or instant, got '${values.timing}'`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new CliError('--tls-cert and --tls-key go together');
  if (values['tls-pq'] !== undefined && !(PQ_MODES as readonly string[]).includes(values['tls-pq'])) throw new CliError(`--tls-pq must be one of ${PQ_MODES.join(', ')}, got '${values['tls-pq']}'`);
  if (values.hardware !== undefined && !values.upstream) throw new CliError('--hardware goes with --upstream (a config file sets `hardware` per pool)');
  const hardware = values.hardware === undefined ? undefined : hardwareFlag(values.hardware);
  if (values.tokenizer !== undefined && !values.upstream) throw new CliError('--tokenizer goes with --upstream (a config file sets `tokenizer` per pool)');
  if (values['kv-events'] !== undefined && !values.upstream) throw new CliError('--kv-events goes with --upstream (a config file sets `kvEvents` per endpoint)');
  const tokenizer = values.tokenizer === undefined ? undefined : values.tokenizer === 'engine' ? { source: 'engine' } : { source: 'file', path: values.tokenizer };
  const port = numberFlag('port', values.port, { integer: true, min: 0, max: 65535 });
  const policy = values.policy ?? DEFAULT_POLICY;
  if (!policyNames().includes(policy)) throw new CliError(`--policy must be one of ${policyNames().join(', ')}, got '${policy}'`);

  // Overrides the command line makes to whatever the config says.
  const applyFlags = (config: GatewayConfig): GatewayConfig => {
    const first = { ...config.listeners[0]! };
    if (values.host) first.host = values.host;
    if (port !== undefined) first.port = port;
    if (values['tls-cert']) first.tls = { cert: values['tls-cert'], key: values['tls-key']!, pq: (values['tls-pq'] ?? 'prefer') as 'strict' | 'prefer' | 'off' };
    const trust = config.trust ?? { allowUnpinned: false, allowPickle: false };
    return {
      ...config,
      listeners: [first, ...config.listeners.slice(1)],
      apiKeys: [...config.apiKeys, ...(values['api-key'] ?? [])],
      logLevel: (logLevel as LogLevel | undefined) ?? config.logLevel,
      trust: {
        ...trust,
        ...(values.lock ? { lock: values.lock } : {}),
        allowUnpinned: values['allow-unpinned'] ?? trust.allowUnpinned,
        allowPickle: values['allow-pickle'] ?? trust.allowPickle,
      },
    };
  };
  const fromPools = (pools: unknown[]): GatewayConfig => {
    try {
      return applyFlags(validateConfig({ pools }, 'command line'));
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  };

  let twins: EmbeddedTwins | undefined;
  let config: GatewayConfig;
  if (values.config) {
    try {
      config = applyFlags(await loadConfigFile(values.config));
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
  } else if (values.upstream) {
    const types = engineTypes(values.upstream, values['engine-type'] ?? []);
    const kvEvents = kvEventsFlags(values.upstream, values['kv-events'] ?? []);
    let pools: PoolConfig[];
    try {
      pools = await poolsFromUpstreams(values.upstream.map((url, i) => ({ url, engineType: types[i]!, ...(kvEvents[i] ? { kvEvents: kvEvents[i] } : {}) })), policy);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    config = fromPools(pools.map((p) => ({ ...p, ...(hardware ? { hardware } : {}), ...(tokenizer ? { tokenizer } : {}) })));
  } else if (values.model) {
    let models;
    try {
      models = localModelsFromArgs(values.model);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    config = fromPools(models.map((m) => ({ name: m.name, models: [m.name], policy, endpoints: [{ engine: 'local', path: m.path }] })));
  } else {
    // Loaded only here: the twin pulls in physics, the tokenizer and ZMQ, which other modes never need.
    const { startEmbeddedTwins } = await import('../gateway/embedded-default.ts');
    const count = numberFlag('twins', values.twins, { integer: true, min: 1, max: 64 }) ?? 4;
    twins = await startEmbeddedTwins({ count, timing: (values.timing ?? 'model') as 'model' | 'instant', policy });
    config = fromPools([twins.pool]);
    config.pools[0]!.stepTime = twins.stepTime;
  }

  const logger = createLogger(config.logLevel);
  // Local models: the gate checks every file against the lock before the engine parses it.
  let gate: ModelGate | undefined;
  let local: LocalEngine | undefined;
  let verified: Verification | undefined;
  if (localModelsOf(config).length > 0) {
    try {
      gate = await openModelGate(config.trust);
      verified = await verifyLocalModels(gate, localModelsOf(config));
      local = await startLocalEngine(config, () => gate!);
    } catch (err) {
      throw new CliError((err as Error).message.split('\n')[0]!);
    }
    logger.log('info', 'local models verified before serving', { lock: lockPathOf(config.trust) ?? null, ...verified });
  }
  const served = (c: GatewayConfig): GatewayConfig => (local ? local.attach(c) : c);

  let gateway;
  try {
    gateway = await startGateway({ config: served(config), logger, processMetrics: true });
  } catch (err) {
    await twins?.close();
    await local?.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') throw new CliError(`cannot listen on ${config.listeners[0]!.host}:${config.listeners[0]!.port}: ${e.code}`);
    if (e.message?.startsWith('TLS configuration')) throw new CliError(e.message);
    throw err;
  }

  const model = config.pools[0]!.models[0]!;
  const out = [`inferstack gateway listening on ${gateway.urls.join(', ')}`];
  out.push(`models: ${config.pools.flatMap((p) => [...p.models, ...(p.adapters ?? [])]).join(', ')}`);
  if (local) out.push('engine: the embedded llama.cpp engine (node-llama-cpp), in this process');
  // performance.now() counts from process start, so this is the whole time to ready, Node start-up included.
  if (verified) out.push(`${verificationLine(verified, lockPathOf(config.trust))}; ready ${performance.now().toFixed(0)} ms after the process started`);
  for (const p of config.pools) {
    if (values.upstream && p.hardware && p.stepTime) out.push(`hardware of ${p.name}: ${p.hardware.model} on ${p.hardware.gpu} x${p.hardware.tp ?? 1} (the inferstack policy predicts TTFT with its physics step-time model)`);
  }
  if (twins) out.push(`engines: ${twins.twins.length} SIMULATED engines (the engine twin, ${model} on h100, ${values.timing ?? 'model'} timing); generated text is filler`);
  const key = config.apiKeys.length > 0 ? ` -H 'authorization: Bearer <key>'` : '';
  out.push('try:', `  curl ${gateway.url}/v1/chat/completions -H 'content-type: application/json'${key} -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`);
  process.stdout.write(out.join('\n') + '\n');

  // A reload re-reads the lock and re-checks every local model before anything changes; the local
  // engine is replaced only when its models or settings changed (the old one finishes its requests).
  const reload = async (file: string) => {
    const next = applyFlags(await loadConfigFile(file));
    const models = localModelsOf(next);
    let nextGate: ModelGate | undefined;
    let nextLocal: LocalEngine | undefined;
    if (models.length > 0) {
      nextGate = await openModelGate(next.trust);
      const v = await verifyLocalModels(nextGate, models);
      logger.log('info', 'local models verified for reload', { lock: lockPathOf(next.trust) ?? null, ...v });
      nextLocal = local?.key === localEngineKey(next) ? local : await startLocalEngine(next, () => gate!);
    }
    const [oldGate, old] = [gate, local];
    gate = nextGate ?? gate; // an engine being retired may still load a model: keep a gate for it
    local = nextLocal;
    try {
      await gateway.reload(served(next));
    } catch (err) {
      [gate, local] = [oldGate, old];
      if (nextLocal && nextLocal !== old) await nextLocal.close();
      throw err;
    }
    if (old && old !== nextLocal) void old.retire();
  };
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    if (!values.config) {
      logger.log('info', 'SIGHUP ignored: no config file to reload');
      return;
    }
    // One reload at a time, in signal order.
    reloading = reloading.then(() =>
      reload(values.config!).catch((err: Error) => logger.log('error', 'config reload failed, keeping the running config', { error: err.message.split('\n')[0] })),
    );
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'shutting down');
    void gateway
      .close()
      .then(() => twins?.close())
      .then(() => local?.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function verificationLine(v: Verification, lock: string | undefined): string {
  const parts: string[] = [];
  if (v.pinned > 0) parts.push(`${v.pinned} verified against ${lock} (${v.hashedBytes} bytes hashed)`);
  if (v.models > v.pinned) parts.push(`${v.models - v.pinned} unpinned (allowed: format checks only)`);
  return `local models checked in ${v.ms.toFixed(1)} ms before serving: ${parts.join(', ')}`;
}
