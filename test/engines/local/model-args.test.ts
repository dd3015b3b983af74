import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localModelsFromArgs } from '../../../src/engines/local/model-args.ts';

test('--model values: file name or alias=path, duplicates refused', () => {
  assert.deepEqual(localModelsFromArgs(['/m/llama-3.2-1b.Q4_K_M.gguf', 'chat=/m/other.gguf', './a=b/c.gguf']), [
    { name: 'llama-3.2-1b.Q4_K_M', path: '/m/llama-3.2-1b.Q4_K_M.gguf' },
    { name: 'chat', path: '/m/other.gguf' },
    { name: 'c', path: './a=b/c.gguf' },
  ]);
  assert.throws(() => localModelsFromArgs(['/a/x.gguf', '/b/x.gguf']), /both be served as 'x'/);
  assert.throws(() => localModelsFromArgs(['name=']), /expected path/);
});
