// startTwinServer: a simulated vLLM engine behind vLLM's OpenAI HTTP API, on the real clock.
// The core (batching, paged prefix cache, step-time model) is src/twin/core; this file wires it to
// physics, the tokenizer, the realtime driver, KV events over ZMQ, metrics and the P/D routes.
// Cheap enough that the gateway embeds several in one process; listens on 127.0.0.1:0 by default.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { listen } from '../../http/listen.ts';
import { resolveDeployment } from '../../physics/deployment.ts';
import { kvBytesPerToken } from '../../physics/models.ts';
import { createTokenizer, type Tokenizer } from '../../tokenizer/index.ts';
import { createKvEventPublisher, type KvEventEncoding, type KvEventPublisher } from '../../kv/events/index.ts';
import { createTwinCore } from '../core/engine.ts';
import type { TwinStats } from '../core/types.ts';
import { createRealtimeTwin, type TwinTiming } from '../realtime.ts';
import { TwinConfigError } from './errors.ts';
import type { DisaggCounters, TwinRole } from './generate.ts';
import { PrefillHolds, type PrefillHoldStats } from './kv-transfer.ts';
import { createTwinMetrics } from './metrics.ts';
import { route, type RouteDeps } from './routes.ts';

export type { TwinRole } from './generate.ts';
export { TwinConfigError } from './errors.ts';

export interface TwinServerOptions {
  /** Catalog id (llama-3.1-8b, ...) or a path to a Hugging Face config.json. */
  model: string;
  gpu: string;
  tp?: number;
  dtype?: string;
  kvDtype?: string;
  /** The name clients must send as `model`; default: the model's catalog id. */
  servedModelName?: string;
  host?: string;
  port?: number;
  timing?: TwinTiming;
  blockSize?: number;
  /** Override the KV capacity physics computes (vLLM: --num-gpu-blocks-override). */
  numGpuBlocks?: number;
  maxModelLen?: number;
  /** Plan each step while the previous one runs, as vLLM does by default. Default true. */
  asyncScheduling?: boolean;
  role?: TwinRole;
  kvEvents?: { endpoint: string; replayEndpoint?: string; encoding?: KvEventEncoding; topic?: string };
  kvTransfer?: {
    /** Link bandwidth between prefill and decode twins, GB/s. Default 25 (one 200 Gb/s NIC). */
    linkGBps?: number;
    /** Free held blocks nobody pulled after this many seconds. Default 480 (vLLM's NIXL timeout). */
    holdTimeoutSeconds?: number;
    /** Hosts a decode twin may pull KV from. Default: loopback only. */
    allowedHosts?: string[];
    /** Host written into kv_transfer_params.remote_host. Default: the listen host. */
    advertiseHost?: string;
  };
  tokenizerJsonPath?: string;
  chatTemplate?: string;
  /** LoRA adapters served beside the base model, by name (vLLM --lora-modules; simulated: no weights). */
  loraModules?: string[];
  /** Most adapters batched in one step (vLLM --max-loras). Default 1. */
  maxLoras?: number;
  /** Largest request body accepted, bytes. Default 16 MiB. */
  maxBodyBytes?: number;
  /** Largest n (times prompts) per request. Default 16. */
  maxN?: number;
  /** Server-side diagnostics; default console.error. */
  log?: (message: string) => void;
}

export interface TwinServerStats extends TwinStats {
  inFlight: number;
  kvTransfer: PrefillHoldStats & DisaggCounters;
  kvEventsPublished: number;
}

export interface TwinServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly modelName: string;
  /** LoRA adapters served beside it (--lora-modules). */
  readonly loraAdapters: readonly string[];
  readonly role: TwinRole;
  readonly engineId: string;
  readonly maxModelLen: number;
  /** Bound KV event endpoints (real ports when `*` was asked for). */
  readonly kvEventsEndpoint: string | undefined;
  readonly kvEventsReplayEndpoint: string | undefined;
  stats(): TwinServerStats;
  close(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export async function startTwinServer(options: TwinServerOptions): Promise<TwinServer> {
  const log = options.log ?? ((m: string) => console.error(m));
  const deployment = resolveDeployment({
    model: options.model, gpu: options.gpu, tp: options.tp, dtype: options.dtype, kvDtype: options.kvDtype, blockSize: options.blockSize,
  });
  const blockSize = options.blockSize ?? deployment.kv.blockSize;
  const numGpuBlocks = options.numGpuBlocks ?? deployment.kv.numGpuBlocks;
  if (!Number.isInteger(numGpuBlocks) || numGpuBlocks < 1) throw new TwinConfigError(`numGpuBlocks must be a positive integer, got ${numGpuBlocks}`);
  // As vLLM at startup: the context window never exceeds what the KV cache can hold.
  const maxModelLen = Math.min(options.maxModelLen ?? Infinity, deployment.model.contextLength, numGpuBlocks * blockSize);
  let tokenizer: Tokenizer;
  try {
    tokenizer = createTokenizer({ tokenizerJsonPath: options.tokenizerJsonPath, chatTemplate: options.chatTemplate });
  } catch (err) {
    throw new TwinConfigError(`tokenizer: ${(err as Error).message}`);
  }
  const core = createTwinCore({
    stepTime: deployment.stepTime, numGpuBlocks, blockSize, fillerTokenIds: tokenizer.fillerTokenIds, vocabSize: tokenizer.vocabSize,
    asyncScheduling: options.asyncScheduling,
    maxLoras: options.maxLoras,
  });
  const twin = createRealtimeTwin({ core, timing: options.timing ?? 'model' });
  const host = options.host ?? '127.0.0.1';
  const role = options.role ?? 'both';
  const engineId = `inferstack-twin-${randomUUID()}`;
  const servedModel = options.servedModelName ?? deployment.model.id;

  let publisher: KvEventPublisher | undefined;
  let kvEventsPublished = 0;
  if (options.kvEvents) {
    try {
      publisher = await createKvEventPublisher({ ...options.kvEvents });
    } catch (err) {
      twin.close();
      throw err;
    }
    const pub = publisher;
    twin.onKvEvents((events) => {
      pub.publish({ ts: Date.now() / 1000, events, dataParallelRank: null });
      kvEventsPublished++;
    });
  }

  let port = 0;
  let closing = false;
  const prefillHolds = new PrefillHolds({
    twin, engineId, host: options.kvTransfer?.advertiseHost ?? host, port: () => port, tpSize: deployment.tp, blockSize,
    kvBytesPerToken: kvBytesPerToken(deployment.model, deployment.kvDtype),
    holdTimeoutSeconds: options.kvTransfer?.holdTimeoutSeconds ?? 480,
    maxHolds: 100_000,
  });
  const disagg: DisaggCounters = { pullsOk: 0, pullsFailed: 0 };
  const loraAdapters = new Set(options.loraModules ?? []);
  const metrics = createTwinMetrics({
    modelName: servedModel, stats: () => twin.stats(), cacheDtype: deployment.kvDtype, kvTransfer: () => ({ ...prefillHolds.stats(), ...disagg }), lora: loraAdapters.size > 0,
  });

  const deps: RouteDeps = {
    twin, tokenizer, servedModel, loraAdapters, maxModelLen, metrics, role, prefillHolds, disagg, log,
    limits: { maxN: options.maxN ?? 16, maxPrompts: options.maxN ?? 16 },
    maxBodyBytes: options.maxBodyBytes ?? 16 << 20,
    maxBufferedStreamBytes: 8 << 20,
    pull: {
      linkBytesPerSecond: (options.kvTransfer?.linkGBps ?? 25) * 1e9,
      instant: twin.timing === 'instant',
      allowedHosts: options.kvTransfer?.allowedHosts ?? LOOPBACK,
      timeoutMs: 30_000,
    },
    ownPrefillSeconds: (promptTokens, cached) =>
      deployment.stepTime.stepSeconds({ prefill: [{ tokens: Math.max(1, promptTokens - cached), cachedContext: cached }], decode: [] }),
    modelRoot: options.model,
    startedAt: Math.floor(Date.now() / 1000),
    isClosing: () => closing,
  };

  const server: Server = createServer((req, res) => { void route(deps, req, res); });
  let url: string;
  try {
    ({ port, url } = await listen(server, options.port ?? 0, host));
  } catch (err) {
    twin.close();
    await publisher?.close();
    throw err;
  }

  return {
    url,
    host,
    port,
    modelName: servedModel,
    loraAdapters: [...loraAdapters],
    role,
    engineId,
    maxModelLen,
    kvEventsEndpoint: publisher?.endpoint,
    kvEventsReplayEndpoint: publisher?.replayEndpoint,
    stats: () => ({ ...twin.stats(), inFlight: twin.inFlight(), kvTransfer: { ...prefillHolds.stats(), ...disagg }, kvEventsPublished }),
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      twin.close(); // aborts every request in flight: their responses end now
      prefillHolds.close();
      server.closeIdleConnections();
      setImmediate(() => server.closeAllConnections());
      await closed;
      await publisher?.close();
    },
  };
}
