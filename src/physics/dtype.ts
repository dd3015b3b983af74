// Number formats for weights and KV cache, and how many bytes each element costs.
import type { Dtype } from './types.ts';
import { PhysicsInputError } from './errors.ts';

export const DTYPES: readonly Dtype[] = ['bf16', 'fp16', 'fp8', 'int8', 'int4', 'fp4'];

// 4-bit formats carry block scales: MXFP4 one 8-bit scale per 32 values, int4 (AWQ/GPTQ) one
// 16-bit scale per 128 values.
const bytes: Record<Dtype, number> = {
  bf16: 2, fp16: 2, fp8: 1, int8: 1, int4: 0.5 + 2 / 128, fp4: 0.5 + 1 / 32,
};

export function bytesPerElement(dtype: Dtype): number {
  return bytes[dtype];
}

export class UnknownDtypeError extends PhysicsInputError {
  constructor(value: string) {
    super(`unknown dtype '${value}' (known: ${DTYPES.join(', ')})`);
  }
}

/** Parse a user-given dtype ('BF16', 'float8', 'mxfp4' are accepted). */
export function parseDtype(value: string): Dtype {
  const v = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  const map: Record<string, Dtype> = {
    bf16: 'bf16', bfloat16: 'bf16', fp16: 'fp16', float16: 'fp16', half: 'fp16',
    fp8: 'fp8', float8: 'fp8', fp8e4m3: 'fp8', e4m3: 'fp8', int8: 'int8', w8a8: 'int8',
    int4: 'int4', awq: 'int4', gptq: 'int4', w4a16: 'int4', fp4: 'fp4', mxfp4: 'fp4', nvfp4: 'fp4',
  };
  const d = map[v];
  if (!d) throw new UnknownDtypeError(value);
  return d;
}
