// Extracts held-out measurements for the engine twin from NVIDIA aiconfigurator's
// silicon_sample.csv (github.com/ai-dynamo/aiconfigurator, Apache-2.0, path
// aic-core/src/aiconfigurator_core/systems/silicon_sample.csv): aggregated vLLM and TensorRT-LLM
// serving runs, closed loop at a fixed concurrency, mean TTFT and TPOT.
//
//   node scripts/extract-silicon.ts SILICON_SAMPLE.csv > bench/data/aiconfigurator-silicon.csv
//
// Kept: models in our catalog with a plain TP layout (pp 1, no attention data parallelism, no
// expert parallelism), on GPUs in our catalog. Repeated runs of one configuration become one row:
// their mean, with the number of runs and their spread (the measurement's own noise).
import { readFileSync } from 'node:fs';

const MODELS: Record<string, string> = {
  'meta-llama/Llama-3.1-8B-Instruct': 'llama-3.1-8b',
  'nvidia/Llama-3.1-8B-Instruct-FP8': 'llama-3.1-8b',
  'meta-llama/Llama-3.1-70B': 'llama-3.1-70b',
  'Qwen/Qwen3-32B': 'qwen3-32b',
  'openai/gpt-oss-120b': 'gpt-oss-120b',
};
const GPUS: Record<string, string> = { h100_sxm: 'h100', h200_sxm: 'h200', b200_sxm: 'b200', gb200: 'gb200' };
const DTYPES: Record<string, string> = { '': 'bf16', fp8: 'fp8', nvfp4: 'fp4' };
const ENGINES = new Set(['vllm', 'trtllm']);

/** The kept rows of silicon_sample.csv's text, as our CSV (header line first). */
export function extractSilicon(text: string): string {
  const [header, ...lines] = text.trim().split('\n');
  const cols = header!.split(',');
  const col = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`column ${name} missing`);
    return i;
  };
  const at = {
    backend: col('backend'), model: col('model_path'), system: col('system'), mode: col('mode'), quant: col('gemm_quant_mode'),
    isl: col('isl'), osl: col('osl'), batch: col('batch_size'), tp: col('tp_size'), pp: col('pp_size'),
    dp: col('attention_dp_size'), ep: col('moe_ep_size'), ttft: col('silicon_ttft_ms'), tpot: col('silicon_tpot_ms'),
  };
  const one = (v: string | undefined) => v === undefined || v === '' || v === '1';

  const groups = new Map<string, { key: string[]; ttft: number[]; tpot: number[] }>();
  for (const line of lines) {
    const f = line.split(',');
    const model = MODELS[f[at.model]!];
    const gpu = GPUS[f[at.system]!];
    const dtype = DTYPES[f[at.quant]!];
    if (!model || !gpu || !dtype || !ENGINES.has(f[at.backend]!) || f[at.mode] !== 'agg') continue;
    if (!one(f[at.pp]) || !one(f[at.dp]) || !one(f[at.ep])) continue;
    const ttft = Number(f[at.ttft]);
    const tpot = Number(f[at.tpot]);
    if (!(ttft > 0) || !(tpot > 0)) continue;
    const key = [f[at.backend]!, model, gpu, dtype, f[at.tp]!, f[at.isl]!, f[at.osl]!, f[at.batch]!];
    const id = key.join(',');
    const g = groups.get(id) ?? { key, ttft: [], tpot: [] };
    g.ttft.push(ttft);
    g.tpot.push(tpot);
    groups.set(id, g);
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / mean(xs);
  const out = ['engine,model,gpu,dtype,tp,isl,osl,concurrency,ttft_ms,tpot_ms,runs,ttft_spread,tpot_spread'];
  for (const g of [...groups.values()].sort((a, b) => a.key.join().localeCompare(b.key.join(), 'en', { numeric: true }))) {
    out.push([...g.key, mean(g.ttft).toFixed(2), mean(g.tpot).toFixed(3), g.ttft.length, spread(g.ttft).toFixed(3), spread(g.tpot).toFixed(3)].join(','));
  }
  return out.join('\n') + '\n';
}

if (import.meta.main) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node scripts/extract-silicon.ts SILICON_SAMPLE.csv');
    process.exit(2);
  }
  process.stdout.write(extractSilicon(readFileSync(path, 'utf8')));
}
