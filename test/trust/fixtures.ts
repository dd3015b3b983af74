// Generated test models: a small but well-formed safetensors model directory (weights, config,
// tokenizer, a nested file), written fresh into a temp directory for each test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSafetensors } from '../../src/trust/formats/safetensors-fuzz.ts';

export function tempDir(prefix = 'inferstack-trust-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A model directory of four files; returns its path. */
export function makeModel(parent: string, name = 'tiny-model', seed = 1): string {
  const dir = join(parent, name);
  mkdirSync(join(dir, 'tokenizer'), { recursive: true });
  const weights = buildSafetensors(
    [
      { name: 'embed.weight', dtype: 'F16', shape: [64, 32], bytesPerElement: 2 },
      { name: 'norm.weight', dtype: 'F32', shape: [32], bytesPerElement: 4 },
    ],
    { format: 'pt' },
  );
  const dataStart = 8 + Number(weights.readBigUInt64LE(0));
  for (let i = dataStart; i < weights.length; i++) weights[i] = (i * 31 + seed) & 0xff; // varied tensor bytes
  writeFileSync(join(dir, 'model.safetensors'), weights);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 32, seed }));
  writeFileSync(join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify({ model: { vocab: { a: 0, b: 1 } } }));
  writeFileSync(join(dir, 'generation_config.json'), '{}');
  return dir;
}
