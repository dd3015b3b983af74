// Shared shapes of the physics module. The twin, the planner and the router all price work with
// the same StepTimeModel, so a routing decision and a simulated result speak the same physics.

export type Dtype = 'bf16' | 'fp16' | 'fp8' | 'int8' | 'int4' | 'fp4';

/** One sequence's share of a prefill chunk: `tokens` new tokens computed on top of `cachedContext` tokens already in KV. */
export interface PrefillWork {
  tokens: number;
  cachedContext: number;
}

/** One decoding sequence: one new token attending over `contextLength` tokens. */
export interface DecodeWork {
  contextLength: number;
}

/** What one engine iteration computes. */
export interface StepBatch {
  prefill: PrefillWork[];
  decode: DecodeWork[];
}

/** Time in seconds of one engine iteration. Pure: same batch, same answer. */
export interface StepTimeModel {
  stepSeconds(batch: StepBatch): number;
}
