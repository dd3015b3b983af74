// Memory plan: where each GPU's memory goes and how many requests of this shape fit at once.
import type { Deployment } from '../deployment.ts';
import { maxSequencesAtContext } from '../kv-capacity.ts';
import { ENGINE_LIMITS } from '../serving-model.ts';

const GiB = 1024 ** 3;

export interface MemoryPlan {
  memoryGiBPerGpu: number;
  usableGiBPerGpu: number;
  weightsGiBPerGpu: number;
  activationGiBPerGpu: number;
  runtimeGiBPerGpu: number;
  kvGiBPerGpu: number;
  kvBytesPerToken: number; // per GPU
  fixedKvBytesPerSequence: number; // per GPU: sliding windows, SSM state
  blockSize: number;
  kvBlocks: number;
  kvTokens: number;
  /** Requests of ISL + OSL tokens whose KV fits at once (the memory limit, before the engine's sequence cap). */
  maxConcurrency: number;
  engineMaxSeqs: number;
}

export function memoryPlan(dep: Deployment, isl: number, osl: number, engineMaxSeqs = ENGINE_LIMITS[dep.engine].maxNumSeqs): MemoryPlan {
  const kv = dep.kv;
  return {
    memoryGiBPerGpu: dep.hardware.memoryBytes / GiB,
    usableGiBPerGpu: kv.budgetBytesPerGpu / GiB,
    weightsGiBPerGpu: kv.weightBytesPerGpu / GiB,
    activationGiBPerGpu: kv.activationBytesPerGpu / GiB,
    runtimeGiBPerGpu: kv.nonTorchBytesPerGpu / GiB,
    kvGiBPerGpu: kv.kvBytesPerGpu / GiB,
    kvBytesPerToken: kv.kvBytesPerTokenPerGpu,
    fixedKvBytesPerSequence: kv.fixedBytesPerSequencePerGpu,
    blockSize: kv.blockSize,
    kvBlocks: kv.numGpuBlocks,
    kvTokens: kv.kvTokens,
    maxConcurrency: maxSequencesAtContext(kv, isl + osl),
    engineMaxSeqs,
  };
}
