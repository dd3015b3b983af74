import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getModel, kvBytesForContext, kvBytesPerSequenceFixed, kvBytesPerToken, listModels, modelFromHfConfig, UnknownModelError, weightBytes } from '../../src/physics/models.ts';

// reference/models.md: parameters (billions, total/active) and KV bytes per token at BF16.
const table: Array<[id: string, total: number, active: number, kvBf16: number]> = [
  ['llama-3.1-8b', 8.03, 8.03, 131072],
  ['llama-3.1-70b', 70.55, 70.55, 327680],
  ['llama-3.1-405b', 405.85, 405.85, 516096],
  ['qwen2.5-7b', 7.62, 7.62, 57344],
  ['qwen2.5-32b', 32.76, 32.76, 262144],
  ['qwen2.5-72b', 72.71, 72.71, 327680],
  ['qwen3-8b', 8.19, 8.19, 147456],
  ['qwen3-14b', 14.77, 14.77, 163840],
  ['qwen3-32b', 32.76, 32.76, 262144],
  ['qwen3-30b-a3b', 30.53, 3.35, 98304],
  ['qwen3-235b-a22b', 235.1, 22.2, 192512],
  ['mistral-7b', 7.25, 7.25, 131072],
  ['mixtral-8x7b', 46.7, 12.9, 131072],
  ['deepseek-v3', 671, 37, 70272],
];

test('parameter counts computed from the architecture match the published table', () => {
  for (const [id, total, active] of table) {
    const m = getModel(id);
    assert.ok(Math.abs(m.params.total / 1e9 - total) / total < 0.005, `${id} total ${m.params.total / 1e9}`);
    // DeepSeek publishes 37B active without the MTP module; ours counts the main model (37.5B).
    assert.ok(Math.abs(m.params.active / 1e9 - active) / active < 0.02, `${id} active ${m.params.active / 1e9}`);
  }
  const oss = getModel('gpt-oss-120b');
  assert.ok(Math.abs(oss.params.total / 1e9 - 117) < 0.5);
});

test('gpt-oss at MXFP4: only the routed experts are 4-bit (reference/models.md: "MoE MXFP4"), the rest BF16', () => {
  const oss = getModel('gpt-oss-120b');
  const p = oss.params;
  const experts = p.total - p.embedding - p.lmHead - p.layerDense; // and the final norm's 2,880 weights
  assert.equal(weightBytes(oss, 'fp4'), (p.embedding + p.lmHead + p.layerDense) * 2 + experts * (0.5 + 1 / 32));
  assert.ok(weightBytes(oss, 'fp4') > 60e9 && weightBytes(oss, 'fp4') < 70e9); // OpenAI: runs on one 80 GB GPU
  // A dense model's 4-bit format covers every linear layer but the embeddings and the LM head.
  const llama = getModel('llama-3.1-70b');
  const lp = llama.params;
  assert.equal(weightBytes(llama, 'fp4'), (lp.embedding + lp.lmHead) * 2 + (lp.total - lp.embedding - lp.lmHead) * (0.5 + 1 / 32));
});

test('KV bytes per token match reference/models.md at BF16 and FP8', () => {
  for (const [id, , , kv] of table) {
    assert.equal(kvBytesPerToken(getModel(id), 'bf16'), kv, id);
    assert.equal(kvBytesPerToken(getModel(id), 'fp8'), kv / 2, id);
  }
});

test('MLA caches the latent once per layer: 61 x (512 + 64) x 2 bytes', () => {
  const ds = getModel('deepseek-v3');
  assert.equal(kvBytesPerToken(ds, 'bf16'), 61 * 576 * 2);
  assert.equal(kvBytesPerToken(ds, 'fp8'), 35136);
  // Uncompressed MHA-equivalent would be 2 x 61 x 128 heads x 192... dims: MLA is ~70x smaller.
  assert.ok(kvBytesPerToken(ds, 'bf16') < (2 * 61 * 128 * 128 * 2) / 50);
});

test('gpt-oss sliding layers are bounded by their 128-token window', () => {
  const oss = getModel('gpt-oss-120b');
  assert.equal(kvBytesPerToken(oss, 'bf16'), 36864); // 18 full layers x 2048 bytes
  assert.equal(kvBytesPerSequenceFixed(oss, 'bf16'), 18 * 128 * 2048); // 4.5 MiB per sequence
  assert.equal(kvBytesPerSequenceFixed(oss, 'bf16'), 4.5 * 1024 ** 2);
  // At 100 tokens the sliding layers hold 100 tokens; at 100k they still hold 128.
  assert.equal(kvBytesForContext(oss, 'bf16', 100), 36 * 100 * 2048);
  assert.equal(kvBytesForContext(oss, 'bf16', 100_000), 100_000 * 36864 + 18 * 128 * 2048);
  // Naive all-layer sizing would be twice the growing part.
  assert.equal(2 * kvBytesPerToken(oss, 'bf16'), 73728);
});

test('state-space model: no KV growth, constant state per sequence', () => {
  const m = getModel('mamba2-2.7b');
  assert.equal(kvBytesPerToken(m, 'bf16'), 0);
  assert.ok(kvBytesPerSequenceFixed(m, 'bf16') > 0);
  assert.equal(kvBytesForContext(m, 'bf16', 10), kvBytesForContext(m, 'bf16', 1_000_000));
  assert.ok(Math.abs(m.params.total / 1e9 - 2.7) < 0.1);
});

test('sparse attention (DeepSeek-V3.2) stores every token like V3', () => {
  const m = getModel('deepseek-v3.2');
  assert.equal(kvBytesPerToken(m, 'bf16'), 70272);
  assert.equal(m.layerKinds[0]!.kind, 'sparse');
});

test('weights keep embeddings in 16 bits under FP8/FP4 (as FP8 checkpoints do)', () => {
  const m = getModel('llama-3.1-8b');
  const gib = weightBytes(m, 'fp8') / 1024 ** 3;
  assert.ok(gib > 8.3 && gib < 8.6, `${gib}`); // vLLM reports ~8.5 GiB for Llama-3.1-8B-FP8
  assert.equal(weightBytes(m, 'bf16'), m.params.total * 2);
});

test('Llama-2-7B (MHA) and CodeLlama-34B: the published parameter counts and their KV size', () => {
  const l2 = getModel('meta-llama/Llama-2-7b-hf');
  assert.equal(l2.id, 'llama-2-7b');
  assert.ok(Math.abs(l2.params.total / 1e9 - 6.74) < 0.01);
  assert.equal(kvBytesPerToken(l2, 'bf16'), 32 * 2 * 32 * 128 * 2); // every head keeps its own KV
  const cl = getModel('codellama/CodeLlama-34b-Instruct-hf');
  assert.equal(cl.id, 'codellama-34b');
  assert.ok(Math.abs(cl.params.total / 1e9 - 33.74) < 0.05);
  assert.equal(kvBytesPerToken(cl, 'bf16'), 48 * 2 * 8 * 128 * 2);
});

test('aliases and unknown ids', () => {
  assert.equal(getModel('meta-llama/Llama-3.1-8B-Instruct').id, 'llama-3.1-8b');
  assert.equal(getModel('Llama-3.1-70B').id, 'llama-3.1-70b');
  assert.throws(() => getModel('llama-9'), (err: Error) => {
    assert.ok(err instanceof UnknownModelError);
    assert.match(err.message, /unknown model 'llama-9' \(known: llama-3.1-8b, /);
    assert.match(err.message, /deepseek-v3/);
    return true;
  });
  assert.ok(listModels().some((m) => m.id === 'llama-2-70b'));
});

test('Hugging Face config.json: dense GQA (Llama-3.1-8B)', () => {
  const m = modelFromHfConfig({ model_type: 'llama', num_hidden_layers: 32, hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8,
    intermediate_size: 14336, vocab_size: 128256, max_position_embeddings: 131072, tie_word_embeddings: false });
  assert.equal(m.params.total, getModel('llama-3.1-8b').params.total);
  assert.equal(kvBytesPerToken(m, 'bf16'), 131072);
});

test('Hugging Face config.json: MoE (Qwen3-30B-A3B) and MLA (DeepSeek-V3)', () => {
  const qwen = modelFromHfConfig({ model_type: 'qwen3_moe', num_hidden_layers: 48, hidden_size: 2048, num_attention_heads: 32, num_key_value_heads: 4, head_dim: 128,
    intermediate_size: 6144, moe_intermediate_size: 768, num_experts: 128, num_experts_per_tok: 8, vocab_size: 151936, tie_word_embeddings: false });
  assert.ok(Math.abs(qwen.params.total / 1e9 - 30.53) < 0.1);
  assert.ok(Math.abs(qwen.params.active / 1e9 - 3.35) < 0.05);
  const ds = modelFromHfConfig({ model_type: 'deepseek_v3', num_hidden_layers: 61, hidden_size: 7168, num_attention_heads: 128, num_key_value_heads: 128,
    intermediate_size: 18432, moe_intermediate_size: 2048, n_routed_experts: 256, n_shared_experts: 1, num_experts_per_tok: 8, first_k_dense_replace: 3,
    kv_lora_rank: 512, q_lora_rank: 1536, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, vocab_size: 129280 });
  assert.equal(kvBytesPerToken(ds, 'bf16'), 70272);
  assert.ok(Math.abs(ds.params.total / 1e9 - 671) < 2);
});

test('Hugging Face config.json: layer_types with sliding windows (gpt-oss), from a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  try {
    const path = join(dir, 'config.json');
    const layerTypes = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention'));
    writeFileSync(path, JSON.stringify({ model_type: 'gpt_oss', num_hidden_layers: 24, hidden_size: 2880, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 64,
      intermediate_size: 2880, num_local_experts: 32, experts_per_token: 4, vocab_size: 201088, sliding_window: 128, layer_types: layerTypes }));
    const m = getModel(path);
    assert.equal(kvBytesPerToken(m, 'bf16'), 12 * 2048);
    assert.equal(kvBytesPerSequenceFixed(m, 'bf16'), 12 * 128 * 2048);
    assert.ok(Math.abs(m.params.total / 1e9 - 20.9) < 0.2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad config.json gives a clear error', () => {
  assert.throws(() => modelFromHfConfig({ hidden_size: 10 }, 'x'), /x: config.json lacks 'num_hidden_layers'/);
  assert.throws(() => modelFromHfConfig([], 'x'), /must be a JSON object/);
  assert.throws(() => getModel('/nonexistent/config.json'), /cannot read model config/);
});

test('Llama 4: one routed + one shared expert, chunked-attention layers bounded by their 8192-token chunk', () => {
  const scout = getModel('meta-llama/Llama-4-Scout-17B-16E-Instruct');
  const maverick = getModel('llama-4-maverick');
  assert.ok(Math.abs(scout.params.active / 1e9 - 17) < 0.5);
  assert.ok(Math.abs(maverick.params.total / 1e9 - 400) < 2);
  assert.ok(Math.abs(maverick.params.active / 1e9 - 17) < 0.5);
  assert.equal(kvBytesPerToken(scout, 'bf16'), 12 * 2 * 8 * 128 * 2); // the 12 global layers grow
  assert.equal(kvBytesForContext(scout, 'bf16', 1000), 48 * 1000 * 4096); // short contexts: every layer holds them
  const fromConfig = modelFromHfConfig({ model_type: 'llama4_text', num_hidden_layers: 48, hidden_size: 5120, num_attention_heads: 40, num_key_value_heads: 8, head_dim: 128,
    intermediate_size: 8192, intermediate_size_mlp: 16384, num_local_experts: 128, num_experts_per_tok: 1, interleave_moe_layer_step: 2, vocab_size: 202048,
    attention_chunk_size: 8192, no_rope_layers: Array.from({ length: 48 }, (_, i) => ((i + 1) % 4 === 0 ? 0 : 1)) });
  assert.equal(fromConfig.params.total, maverick.params.total);
  assert.deepEqual(fromConfig.layerKinds, maverick.layerKinds);
});
