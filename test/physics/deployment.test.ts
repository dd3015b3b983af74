import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeploymentError, resolveDeployment } from '../../src/physics/deployment.ts';
import { PhysicsInputError } from '../../src/physics/errors.ts';

test('resolves ids, defaults and dtypes', () => {
  const d = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'H100' });
  assert.equal(d.hardware.id, 'h100');
  assert.equal(d.tp, 1);
  assert.equal(d.weightDtype, 'bf16');
  assert.equal(d.kvDtype, 'bf16');
  assert.equal(d.engine, 'vllm');
  assert.ok(d.stepTime.stepSeconds({ prefill: [], decode: [{ contextLength: 10 }] }) > 0);
  assert.equal(resolveDeployment({ model: 'gpt-oss-120b', gpu: 'h100' }).weightDtype, 'fp4'); // ships MXFP4
  assert.equal(resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', dtype: 'FP8', kvDtype: 'float8' }).kvDtype, 'fp8');
});

test('unknown ids list the known ones', () => {
  assert.throws(() => resolveDeployment({ model: 'gpt-5', gpu: 'h100' }), /unknown model 'gpt-5' \(known: llama-3.1-8b/);
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'a100' }), /unknown accelerator 'a100' \(known: h100/);
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', dtype: 'fp12' }), /unknown dtype 'fp12' \(known: bf16/);
});

test('impossible configurations are rejected with the reason', () => {
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', tp: 3 }), (err: Error) => {
    assert.ok(err instanceof DeploymentError);
    assert.ok(err instanceof PhysicsInputError);
    assert.match(err.message, /tp 3 does not divide llama-3.1-8b's 32 attention heads/);
    return true;
  });
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', tp: 16 }), /exceeds the 8-device scale-up domain/);
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', tp: 0 }), /positive integer/);
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', kvDtype: 'int4' }), /kv dtype int4 is not supported/);
});

test('a model that does not fit says by how much and what would fit', () => {
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-70b', gpu: 'h100' }), /short by 65\.\d GiB per device.*would fit: --tp 2 --dtype bf16/);
  assert.throws(() => resolveDeployment({ model: 'llama-3.1-405b', gpu: 'h100', tp: 8 }), /would fit: .*--tp 8 --dtype fp8|would fit: --tp 16/);
});
