// One place that turns user-level choices (model id, GPU id, TP, dtypes) into a validated
// deployment: the twin, the simulator and the planner all call this, so they agree on what a
// configuration means and reject the same impossible ones with the same message.
import { parseDtype, DTYPES } from './dtype.ts';
import { PhysicsInputError } from './errors.ts';
import { getHardware, type Hardware } from './hardware.ts';
import { DoesNotFitError, kvCapacity, type KvCapacity } from './kv-capacity.ts';
import { getModel, type ModelSpec } from './models.ts';
import { createStepTimeModel, type DetailedStepTimeModel, type EngineKind } from './step-time.ts';
import type { Dtype } from './types.ts';

export class DeploymentError extends PhysicsInputError {}

export interface DeploymentRequest {
  model: string | ModelSpec;
  gpu: string | Hardware;
  tp?: number;
  dtype?: string | Dtype;
  kvDtype?: string | Dtype;
  engine?: EngineKind;
  gpuMemoryUtilization?: number;
  blockSize?: number;
  /** The engine's step token budget: its startup profile, and so the activation memory, scales with it. */
  maxNumBatchedTokens?: number;
}

export interface Deployment {
  hardware: Hardware;
  model: ModelSpec;
  tp: number;
  weightDtype: Dtype;
  kvDtype: Dtype;
  engine: EngineKind;
  stepTime: DetailedStepTimeModel;
  kv: KvCapacity;
}

/** Why this TP cannot shard this model's heads, or null when it can. */
export function tpProblem(model: ModelSpec, tp: number, hw: Hardware): string | null {
  if (!Number.isInteger(tp) || tp < 1) return `tp must be a positive integer, got ${tp}`;
  if (tp > hw.maxScaleUp) return `tp ${tp} exceeds the ${hw.maxScaleUp}-device scale-up domain of ${hw.id}`;
  if (hw.memoryKind === 'sram') return null; // SRAM parts shard layers across many chips, not heads
  if (model.heads > 0 && model.heads % tp !== 0) return `tp ${tp} does not divide ${model.id}'s ${model.heads} attention heads`;
  if (!model.mla && model.kvHeads > 0 && model.kvHeads % tp !== 0 && tp % model.kvHeads !== 0) {
    return `tp ${tp} and ${model.id}'s ${model.kvHeads} KV heads do not divide each other`;
  }
  return null;
}

function dtypeOf(value: string | Dtype | undefined, fallback: Dtype): Dtype {
  return value === undefined ? fallback : parseDtype(value);
}

/** Configurations near the one asked for that do fit: more devices, or a smaller weight format. */
function whatWouldFit(req: Omit<Deployment, 'stepTime' | 'kv'>, util: number | undefined, maxNumBatchedTokens: number | undefined): string[] {
  const tries: Array<{ tp: number; dtype: Dtype }> = [];
  for (let tp = req.tp * 2; tp <= Math.min(req.hardware.maxScaleUp, 4096); tp *= 2) tries.push({ tp, dtype: req.weightDtype });
  for (const dtype of ['fp8', 'int4'] as Dtype[]) if (dtype !== req.weightDtype) tries.push({ tp: req.tp, dtype });
  const fits: string[] = [];
  for (const t of tries) {
    if (tpProblem(req.model, t.tp, req.hardware)) continue;
    try {
      kvCapacity({ hardware: req.hardware, model: req.model, tp: t.tp, weightDtype: t.dtype, kvDtype: req.kvDtype, gpuMemoryUtilization: util, engine: req.engine, maxNumBatchedTokens });
      fits.push(`--tp ${t.tp} --dtype ${t.dtype}`);
      if (t.dtype === req.weightDtype) break; // smallest TP that fits is enough
    } catch { /* keep looking */ }
  }
  return fits;
}

export function resolveDeployment(req: DeploymentRequest): Deployment {
  const model = typeof req.model === 'string' ? getModel(req.model) : req.model;
  const hardware = typeof req.gpu === 'string' ? getHardware(req.gpu) : req.gpu;
  const tp = req.tp ?? 1;
  const weightDtype = dtypeOf(req.dtype, model.defaultDtype);
  const kvDtype = dtypeOf(req.kvDtype, weightDtype === 'fp16' ? 'fp16' : 'bf16');
  if (kvDtype === 'int4' || kvDtype === 'fp4') {
    throw new DeploymentError(`kv dtype ${kvDtype} is not supported by the engines modelled (use one of ${DTYPES.filter((d) => d !== 'int4' && d !== 'fp4').join(', ')})`);
  }
  const engine = req.engine ?? 'vllm';
  const problem = tpProblem(model, tp, hardware);
  if (problem) throw new DeploymentError(problem);

  let kv: KvCapacity;
  try {
    kv = kvCapacity({ hardware, model, tp, weightDtype, kvDtype, engine, gpuMemoryUtilization: req.gpuMemoryUtilization, blockSize: req.blockSize, maxNumBatchedTokens: req.maxNumBatchedTokens });
  } catch (err) {
    if (!(err instanceof DoesNotFitError)) throw err;
    const fits = whatWouldFit({ hardware, model, tp, weightDtype, kvDtype, engine }, req.gpuMemoryUtilization, req.maxNumBatchedTokens);
    throw new DoesNotFitError(`${err.message}${fits.length ? `; would fit: ${fits.join(' or ')}` : ''}`, err.shortBytes);
  }
  if (kv.numGpuBlocks < 1) throw new DeploymentError(`${model.id} on ${tp} x ${hardware.id} leaves no room for a single KV block`);
  const stepTime = createStepTimeModel({ hardware, model, tp, weightDtype, kvDtype, engine });
  return { hardware, model, tp, weightDtype, kvDtype, engine, stepTime, kv };
}
