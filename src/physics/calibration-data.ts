// Published serving measurements used to fit the step-time model (copied from
// ../shared/reference/calibration.md, which cites each source). Kept as data so the fit and the
// docs table are recomputed from one place. Held-out measurements are NOT in this file.

/** A closed-loop or max-throughput serving measurement. */
export interface CalibrationRow {
  table: 'A: TRT-LLM max throughput' | 'B: NIM 70B concurrency sweep' | 'D: vLLM H200';
  source: string;
  engine: 'trtllm' | 'vllm';
  model: string;
  gpu: string;
  tp: number;
  dtype: 'fp8';
  kvDtype: 'fp8' | 'bf16';
  isl: number;
  osl: number;
  /** Requests in flight; Infinity = unlimited request rate (trtllm-bench throughput). */
  concurrency: number;
  measured: { throughputTokS?: number; ttftMs?: number; tpotMs?: number };
}

const TRTLLM_PERF =
  'NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md (v1.0 era), trtllm-bench throughput, PyTorch backend, FP8 checkpoints';
const NIM = 'NVIDIA NIM for LLMs 1.0 benchmarking performance page: Llama-3.3-70B-Instruct, NIM 1.8.0, 2 x H100, FP8, TP2';
const AIC = 'ai-dynamo/aiconfigurator aic-core/src/aiconfigurator_core/systems/silicon_sample.csv: vLLM 0.12.0, H200, TP1, aggregated';

// Section A: output tok/s at unlimited rate. NVIDIA's FP8 checkpoints also quantise the KV cache to FP8.
const tableA: Array<[isl: number, osl: number, t8b: number, t70b: number]> = [
  [128, 128, 28312, 6378],
  [128, 2048, 22714, 6651],
  [128, 4096, 14325, 4199],
  [500, 2000, 17660, 5222],
  [1000, 1000, 15220, 4205],
  [1000, 2000, 13899, 4146],
  [2048, 128, 3450, 762],
  [2048, 2048, 9305, 3082],
  [5000, 500, 3459, 898],
  [20000, 2000, 1351, 437],
];

const trt = (model: string, tp: number, isl: number, osl: number, throughputTokS: number): CalibrationRow => ({
  table: 'A: TRT-LLM max throughput', source: TRTLLM_PERF, engine: 'trtllm', model, gpu: 'h100', tp, dtype: 'fp8', kvDtype: 'fp8',
  isl, osl, concurrency: Infinity, measured: { throughputTokS },
});

// Section B: TTFT, inter-token latency and output throughput against concurrency, ISL 5000 / OSL 500.
const tableB: Array<[c: number, ttft: number, itl: number, tput: number]> = [
  [1, 406.8, 18.58, 51.7],
  [5, 546.7, 21.83, 218.5],
  [25, 688.7, 38.75, 623.4],
  [50, 834.5, 59.73, 814.4],
  [100, 7996, 92.91, 917.3],
  [150, 34794, 92.86, 920.9],
  [200, 61680, 93.06, 920.5],
  [250, 88605, 93.2, 920.1],
];

// Section D: vLLM, Llama-3.1-8B-Instruct-FP8 (KV left at vLLM's default 16-bit), closed loop.
const tableD: Array<[isl: number, osl: number, c: number, ttft: number, tpot: number]> = [
  [1000, 100, 112, 71.9, 11.25],
  [2000, 100, 64, 121.7, 9.74],
  [4000, 100, 32, 184.3, 11.67],
  [4000, 500, 96, 120.9, 17.11],
  [4000, 1000, 128, 115.0, 21.99],
  [8000, 100, 16, 447.2, 15.53],
  [8000, 1000, 64, 463.4, 18.8],
  [8000, 2000, 80, 360.9, 23.81],
];

export const CALIBRATION: readonly CalibrationRow[] = [
  ...tableA.map(([isl, osl, t8b]) => trt('llama-3.1-8b', 1, isl, osl, t8b)),
  ...tableA.map(([isl, osl, , t70b]) => trt('llama-3.3-70b', 2, isl, osl, t70b)),
  trt('llama-3.1-405b', 8, 1000, 1000, 2919),
  ...tableB.map(([concurrency, ttftMs, tpotMs, throughputTokS]): CalibrationRow => ({
    table: 'B: NIM 70B concurrency sweep', source: NIM, engine: 'trtllm', model: 'llama-3.3-70b', gpu: 'h100', tp: 2, dtype: 'fp8', kvDtype: 'fp8',
    isl: 5000, osl: 500, concurrency, measured: { ttftMs, tpotMs, throughputTokS },
  })),
  ...tableD.map(([isl, osl, concurrency, ttftMs, tpotMs]): CalibrationRow => ({
    table: 'D: vLLM H200', source: AIC, engine: 'vllm', model: 'llama-3.1-8b', gpu: 'h200', tp: 1, dtype: 'fp8', kvDtype: 'bf16',
    isl, osl, concurrency, measured: { ttftMs, tpotMs },
  })),
];

/** Section C: measured GPU energy per output token, Llama-3.1-8B on H100 with vLLM at batch 64 (ML.ENERGY). */
export const ENERGY_CALIBRATION = {
  source: 'ML.ENERGY leaderboard blog, "LLM Inference Energy: A Longitudinal Analysis"',
  model: 'llama-3.1-8b', gpu: 'h100', batch: 64,
  joulesPerToken: { 'vllm-0.5.4': 0.2, 'vllm-0.11.1': 0.12 },
} as const;
