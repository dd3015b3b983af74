// One llama.cpp runtime per process, shared by every loaded model. It only ever uses the prebuilt
// binaries installed with node-llama-cpp: never downloads, never builds from source.
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';

export interface LlamaRuntimeOptions {
  /** false (default): CPU only. 'auto': let llama.cpp use a GPU backend whose prebuilt binary works here. */
  gpu?: false | 'auto';
}

let runtime: Promise<Llama> | undefined;
let runtimeGpu: false | 'auto' | undefined;

export function getLlamaRuntime(opts: LlamaRuntimeOptions = {}): Promise<Llama> {
  const gpu = opts.gpu ?? false;
  if (runtime && runtimeGpu !== gpu) {
    throw new Error(`the llama.cpp runtime is already started with gpu=${String(runtimeGpu)}; one process uses one backend`);
  }
  runtimeGpu = gpu;
  runtime ??= getLlama({
    gpu,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`llama.cpp: ${message.trimEnd()}\n`);
    },
  }).catch((err: unknown) => {
    runtime = undefined;
    throw err;
  });
  return runtime;
}
