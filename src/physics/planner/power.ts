// Power drawn by an accelerator as a function of how busy it is. Measured LLM-serving draw is far
// below TDP x peak (reference/calibration.md C: real J/token is ~2.6x the TDP/peak bound), so power
// follows utilisation: an idle floor, plus a dynamic part driven by the tensor cores (compute
// utilisation) and by HBM traffic (bandwidth utilisation), capped at TDP.
import { matmulFlops, type Hardware } from '../hardware.ts';
import type { Dtype } from '../types.ts';

export interface PowerModel {
  /** Idle draw as a fraction of TDP (H100 idles near 70-100 W of 700 W). */
  idleFraction: number;
  /** Compute utilisation (of dense peak) at which the part reaches TDP on compute alone. */
  computeSaturation: number;
  /** Share of the dynamic range that streaming memory at full bandwidth draws. */
  memoryWeight: number;
}

// memoryWeight is set so that Llama-3.1-8B BF16 on one H100 at concurrency 64 (ML.ENERGY's setting,
// assuming chat-like 1000/300 requests) comes out at about 0.12 J/token, the newer of the two
// measurements (0.12 and 0.20); test/physics/planner.test.ts keeps it within 0.10-0.20.
export const DEFAULT_POWER: PowerModel = { idleFraction: 0.12, computeSaturation: 0.7, memoryWeight: 0.6 };

export interface PowerEstimate {
  watts: number;
  computeUtilisation: number;
  bandwidthUtilisation: number;
}

/** Average power per device at the given achieved FLOP/s and memory traffic. */
export function devicePower(hw: Hardware, dtype: Dtype, flopsPerSec: number, bytesPerSec: number, model: PowerModel = DEFAULT_POWER): PowerEstimate {
  const computeUtilisation = Math.min(1, flopsPerSec / matmulFlops(hw, dtype));
  const bandwidthUtilisation = Math.min(1, bytesPerSec / hw.memBandwidthBytesPerSec);
  const activity = Math.min(1, computeUtilisation / model.computeSaturation + model.memoryWeight * bandwidthUtilisation);
  const watts = hw.tdpWatts * (model.idleFraction + (1 - model.idleFraction) * activity);
  return { watts, computeUtilisation, bandwidthUtilisation };
}
