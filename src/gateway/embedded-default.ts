// `serve` with no config and no upstreams: four simulated engines (the engine twin, llama-3.1-8b on
// h100) in this process, behind the gateway. Everything they generate is simulated filler.
import { resolveDeployment } from '../physics/deployment.ts';
import { startTwinServer, type TwinServer } from '../twin/server/index.ts';
import type { StepTimeModel } from '../physics/types.ts';
import type { PoolConfig } from './config.ts';

export const DEFAULT_MODEL = 'llama-3.1-8b';
export const DEFAULT_GPU = 'h100';
export const DEFAULT_TWINS = 4;

export interface EmbeddedTwins {
  twins: TwinServer[];
  pool: PoolConfig;
  /** The twins' own step-time model, so inferstack predicts TTFT in seconds (set on the validated pool: not a YAML key). */
  stepTime: StepTimeModel;
  close(): Promise<void>;
}

export async function startEmbeddedTwins(options: { count?: number; timing?: 'model' | 'instant'; policy: string; log?: (m: string) => void }): Promise<EmbeddedTwins> {
  const twins: TwinServer[] = [];
  try {
    for (let i = 0; i < (options.count ?? DEFAULT_TWINS); i++) {
      twins.push(await startTwinServer({ model: DEFAULT_MODEL, gpu: DEFAULT_GPU, host: '127.0.0.1', port: 0, timing: options.timing ?? 'model',
        // Each twin publishes its KV events (as vLLM with --kv-events-config) so the gateway's precise index sees real cache state.
        kvEvents: { endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*' }, ...(options.log ? { log: options.log } : {}) }));
    }
  } catch (err) {
    await Promise.allSettled(twins.map((t) => t.close()));
    throw err;
  }
  const model = twins[0]!.modelName;
  return {
    twins,
    stepTime: resolveDeployment({ model: DEFAULT_MODEL, gpu: DEFAULT_GPU }).stepTime,
    pool: {
      name: 'simulated',
      models: [model],
      policy: options.policy,
      // The twins' own (built-in) tokenizer: precise keys match their events and prompt lengths are counted.
      tokenizer: { source: 'builtin' },
      endpoints: twins.map((t) => ({
        url: t.url,
        engine: 'twin' as const,
        ...(t.kvEventsEndpoint ? { kvEvents: { endpoint: t.kvEventsEndpoint, ...(t.kvEventsReplayEndpoint ? { replayEndpoint: t.kvEventsReplayEndpoint } : {}) } } : {}),
      })),
    },
    close: async () => {
      await Promise.allSettled(twins.map((t) => t.close()));
    },
  };
}
