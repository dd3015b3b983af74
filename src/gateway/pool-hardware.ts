// A pool's `hardware` key: what its engines run (model, accelerator, TP, dtypes), turned into the
// physics step-time model the `inferstack` policy predicts TTFT with. The same resolveDeployment
// the twin, the simulator and the planner call, so a pool described like a twin is priced like one.
// Without the key the policy ranks by the same formula in prompt tokens (ttft-predictor.ts).
import { DoesNotFitError } from '../physics/kv-capacity.ts';
import { resolveDeployment } from '../physics/deployment.ts';
import { UnknownHardwareError } from '../physics/hardware.ts';
import { UnknownModelError } from '../physics/models.ts';
import { PhysicsInputError } from '../physics/errors.ts';
import type { StepTimeModel } from '../physics/types.ts';

export interface PoolHardware {
  /** Catalog model id (`llama-3.1-8b`, ...) or a path to a Hugging Face config.json. */
  model: string;
  /** Catalog accelerator id (`h100`, `h200`, `mi300x`, ...). */
  gpu: string;
  tp?: number;
  dtype?: string;
  kvDtype?: string;
  engine?: 'vllm' | 'trtllm';
}

/** A `hardware` value physics rejects; `key` names the one at fault, absent when it is the combination. */
export class PoolHardwareError extends Error {
  readonly key: string | undefined;
  constructor(key: string | undefined, message: string) {
    super(message);
    this.name = 'PoolHardwareError';
    this.key = key;
  }
}

export function stepTimeOf(hw: PoolHardware): StepTimeModel {
  try {
    return resolveDeployment({ model: hw.model, gpu: hw.gpu, tp: hw.tp, dtype: hw.dtype, kvDtype: hw.kvDtype, engine: hw.engine }).stepTime;
  } catch (err) {
    if (!(err instanceof PhysicsInputError)) throw err;
    throw new PoolHardwareError(keyOf(err), err.message);
  }
}

/** Which `hardware` key a physics error is about (a model that does not fit is about all of them). */
function keyOf(err: PhysicsInputError): string | undefined {
  if (err instanceof UnknownModelError) return 'model';
  if (err instanceof UnknownHardwareError) return 'gpu';
  if (err instanceof DoesNotFitError) return undefined;
  if (/^tp /.test(err.message)) return 'tp';
  if (/^kv dtype/.test(err.message)) return 'kvDtype';
  return undefined;
}
