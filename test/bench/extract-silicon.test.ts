import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSilicon } from '../../scripts/extract-silicon.ts';

// The columns the extractor reads, in a different order than the real file, plus one it ignores.
const header = 'id,backend,model_path,system,mode,gemm_quant_mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms';
const row = (over: Record<string, string>) => {
  const base: Record<string, string> = {
    id: 'x', backend: 'vllm', model_path: 'meta-llama/Llama-3.1-70B', system: 'h200_sxm', mode: 'agg', gemm_quant_mode: 'fp8',
    isl: '1024', osl: '1024', batch_size: '16', tp_size: '4', pp_size: '1', attention_dp_size: '1', moe_ep_size: '1',
    silicon_ttft_ms: '100', silicon_tpot_ms: '10',
  };
  return header.split(',').map((c) => over[c] ?? base[c]).join(',');
};

test('keeps catalogued plain-TP aggregated runs, maps names, and averages repeated runs', () => {
  const text = [
    header,
    row({}),
    row({ id: 'repeat', silicon_ttft_ms: '120', silicon_tpot_ms: '12' }),
    row({ backend: 'trtllm', model_path: 'meta-llama/Llama-3.1-8B-Instruct', system: 'h100_sxm', gemm_quant_mode: '', tp_size: '1' }),
    row({ mode: 'disagg' }), // dropped: disaggregated
    row({ backend: 'sglang' }), // dropped: no engine profile
    row({ model_path: 'zhipuai/GLM-5' }), // dropped: not in the catalog
    row({ attention_dp_size: '4' }), // dropped: attention data parallelism
    row({ moe_ep_size: '8' }), // dropped: expert parallelism
    row({ silicon_tpot_ms: '' }), // dropped: no measurement
  ].join('\n');
  const lines = extractSilicon(text).trim().split('\n');
  assert.equal(lines[0], 'engine,model,gpu,dtype,tp,isl,osl,concurrency,ttft_ms,tpot_ms,runs,ttft_spread,tpot_spread');
  assert.deepEqual(lines.slice(1), [
    'trtllm,llama-3.1-8b,h100,bf16,1,1024,1024,16,100.00,10.000,1,0.000,0.000',
    'vllm,llama-3.1-70b,h200,fp8,4,1024,1024,16,110.00,11.000,2,0.182,0.182',
  ]);
});

test('a file without a needed column is an error naming it', () => {
  assert.throws(() => extractSilicon('backend,model_path\nvllm,x'), /column system missing/);
});
