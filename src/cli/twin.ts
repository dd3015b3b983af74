// inferstack twin: one simulated vLLM engine on the real clock (see src/twin/server).
import { parseArgs } from 'node:util';
import { KvEventBindError } from '../kv/events/index.ts';
import { loadHardwareFile } from '../physics/hardware.ts';
import { PhysicsInputError } from '../physics/errors.ts';
import { TwinConfigError, startTwinServer, type TwinRole } from '../twin/server/index.ts';
import { CliError } from './cli-error.ts';
import { numberFlag, oneOf } from './flags.ts';

const USAGE = `usage: inferstack twin --model MODEL --gpu GPU [options]

A simulated vLLM-compatible engine: vLLM's OpenAI API, metrics and KV events, with batching, a paged
prefix cache and step times from the physics model. Generated text is filler.

  --model ID|PATH            catalog model id (llama-3.1-8b, ...) or a Hugging Face config.json
  --gpu ID                   accelerator (h100, h200, a100-80gb, ...)
  --tp N                     tensor parallel degree (default 1)
  --dtype D                  weight dtype: bf16, fp16, fp8, int8, int4, fp4
  --kv-dtype D               KV cache dtype (default bf16)
  --host HOST                listen address (default 127.0.0.1)
  --port N                   listen port (default 8000; 0 picks a free one)
  --served-model-name NAME   the model name clients send (default: the model id)
  --timing model|instant     real step times (default) or as fast as possible
  --block-size N             tokens per KV block (default 16)
  --num-gpu-blocks N         override the KV capacity physics computes
  --max-model-len N          cap the context window
  --no-async-scheduling      plan each step after the previous one ends (by default, as vLLM,
                             a request arriving during a step joins the step after next)
  --role prefill|decode|both P/D role for kv_transfer_params (default both)
  --kv-link-gbps X           prefill->decode link bandwidth, GB/s (default 25)
  --kv-hold-timeout S        free KV held for a decode peer after S seconds (default 480)
  --kv-events ENDPOINT       publish KV events on a ZMQ PUB socket, e.g. tcp://127.0.0.1:5557
  --kv-events-replay EP      ZMQ ROUTER endpoint serving replay, e.g. tcp://127.0.0.1:5558
  --kv-events-encoding E     map or array (default array)
  --kv-events-topic T        topic frame of every KV event message (default empty)
  --tokenizer PATH           a tokenizer.json (default: the built-in approximate tokenizer)
  --lora-modules NAME[=PATH] serve a LoRA adapter under NAME beside the base model (repeatable;
                             simulated: no weights are read, its KV is keyed apart as vLLM's is)
  --max-loras N              most adapters batched in one step (default 1, as vLLM)
  --hardware-file F          add accelerators from a YAML/JSON file (same format as inferstack plan's)
`;




/** `NAME` or vLLM's `NAME=PATH` (the path is not read: the twin simulates the adapter). */
function loraNames(modules: string[]): string[] {
  return modules.map((m) => {
    const name = m.split('=')[0]!.trim();
    if (name === '') throw new CliError(`--lora-modules wants NAME or NAME=PATH, got '${m}'`);
    return name;
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' }, gpu: { type: 'string' }, tp: { type: 'string' }, dtype: { type: 'string' },
      'kv-dtype': { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
      'served-model-name': { type: 'string' }, timing: { type: 'string' }, 'block-size': { type: 'string' },
      'num-gpu-blocks': { type: 'string' }, 'max-model-len': { type: 'string' }, role: { type: 'string' }, 'no-async-scheduling': { type: 'boolean' },
      'kv-link-gbps': { type: 'string' }, 'kv-hold-timeout': { type: 'string' },
      'kv-events': { type: 'string' }, 'kv-events-replay': { type: 'string' }, 'kv-events-encoding': { type: 'string' },
      'kv-events-topic': { type: 'string' }, tokenizer: { type: 'string' }, 'lora-modules': { type: 'string', multiple: true },
      'max-loras': { type: 'string' }, 'hardware-file': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!v.model) throw new CliError('--model is required (e.g. --model llama-3.1-8b); see inferstack twin --help');
  if (!v.gpu) throw new CliError('--gpu is required (e.g. --gpu h100); see inferstack twin --help');
  if (v['kv-events-replay'] && !v['kv-events']) throw new CliError('--kv-events-replay needs --kv-events');

  const encoding = oneOf('kv-events-encoding', v['kv-events-encoding'], ['map', 'array'] as const);
  let twin;
  try {
    if (v['hardware-file']) loadHardwareFile(v['hardware-file']);
    twin = await startTwinServer({
      model: v.model,
      gpu: v.gpu,
      tp: numberFlag('tp', v.tp, { integer: true, min: 1 }),
      dtype: v.dtype,
      kvDtype: v['kv-dtype'],
      host: v.host ?? '127.0.0.1',
      port: numberFlag('port', v.port, { integer: true, min: 0, max: 65535 }) ?? 8000,
      servedModelName: v['served-model-name'],
      timing: oneOf('timing', v.timing, ['model', 'instant'] as const),
      blockSize: numberFlag('block-size', v['block-size'], { integer: true, min: 1 }),
      numGpuBlocks: numberFlag('num-gpu-blocks', v['num-gpu-blocks'], { integer: true, min: 1 }),
      asyncScheduling: !v['no-async-scheduling'],
      maxModelLen: numberFlag('max-model-len', v['max-model-len'], { integer: true, min: 1 }),
      role: oneOf<TwinRole>('role', v.role, ['prefill', 'decode', 'both']),
      kvTransfer: { linkGBps: numberFlag('kv-link-gbps', v['kv-link-gbps'], { positive: true }), holdTimeoutSeconds: numberFlag('kv-hold-timeout', v['kv-hold-timeout'], { positive: true }) },
      kvEvents: v['kv-events']
        ? { endpoint: v['kv-events'], replayEndpoint: v['kv-events-replay'], encoding, topic: v['kv-events-topic'] }
        : undefined,
      tokenizerJsonPath: v.tokenizer,
      loraModules: loraNames(v['lora-modules'] ?? []),
      maxLoras: numberFlag('max-loras', v['max-loras'], { integer: true, min: 1 }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof PhysicsInputError || err instanceof TwinConfigError || err instanceof KvEventBindError) throw new CliError(e.message);
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen: ${e.message}`);
    throw err;
  }

  const s = twin.stats();
  process.stdout.write(
    `inferstack twin: SIMULATED vLLM engine (generated text is filler) serving ${twin.modelName}${twin.loraAdapters.length > 0 ? ` and LoRA adapters ${twin.loraAdapters.join(', ')} (simulated)` : ''}, role ${twin.role}\n` +
    `  ${s.numGpuBlocks} KV blocks of ${s.blockSize} tokens, max model len ${twin.maxModelLen}\n` +
    (twin.kvEventsEndpoint ? `  KV events on ${twin.kvEventsEndpoint}${twin.kvEventsReplayEndpoint ? `, replay on ${twin.kvEventsReplayEndpoint}` : ''}\n` : '') +
    `listening on ${twin.url}\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void twin.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
