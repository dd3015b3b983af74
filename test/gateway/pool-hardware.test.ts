// A pool's `hardware` key gives the inferstack policy the physics step-time model (TTFT in
// seconds) of what the pool's engines run; bad values are config errors that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/gateway/config.ts';
import { resolveDeployment } from '../../src/physics/deployment.ts';

const poolWith = (hardware: string) => `pools: [{name: a, models: [m], policy: inferstack, hardware: ${hardware}, endpoints: [{url: "http://127.0.0.1:1", engine: vllm}]}]`;

test('hardware: the pool gets the step-time model physics gives the same deployment', () => {
  const c = parseConfigText(poolWith('{model: llama-3.1-8b, gpu: h100, tp: 1, dtype: fp8}'), 'cfg.yaml');
  const stepTime = c.pools[0]!.stepTime;
  assert.ok(stepTime, 'a step-time model');
  const expected = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100', tp: 1, dtype: 'fp8' }).stepTime;
  const bf16 = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' }).stepTime;
  const step = { prefill: [{ tokens: 4096, cachedContext: 0 }], decode: [{ contextLength: 1000 }] };
  assert.equal(stepTime.stepSeconds(step), expected.stepSeconds(step));
  assert.notEqual(stepTime.stepSeconds(step), bf16.stepSeconds(step), 'the dtype is taken into account');
  assert.ok(stepTime.stepSeconds(step) > 0.01 && stepTime.stepSeconds(step) < 1, 'a 4k-token prefill step takes tens to hundreds of ms');
  assert.equal(parseConfigText(poolWith('null').replace('hardware: null, ', ''), 'x').pools[0]!.stepTime, undefined, 'no key, no model');
});

test('hardware: errors name the bad key', () => {
  const bad: [string, RegExp][] = [
    ['{model: llama-9, gpu: h100}', /pools\[0\]\.hardware\.model: unknown model 'llama-9' \(known: llama-3\.1-8b, /],
    ['{model: llama-3.1-8b, gpu: h1000}', /pools\[0\]\.hardware\.gpu: unknown accelerator 'h1000' \(known: h100, /],
    ['{model: llama-3.1-8b, gpu: h100, tp: 3}', /pools\[0\]\.hardware\.tp: tp 3 does not divide llama-3\.1-8b's 32 attention heads/],
    ['{model: llama-3.1-8b, gpu: h100, tp: 0}', /pools\[0\]\.hardware\.tp: must be >= 1/],
    ['{model: llama-3.1-8b, gpu: h100, dtype: fp12}', /pools\[0\]\.hardware\.dtype: must be one of bf16, fp16, fp8/],
    ['{model: llama-3.1-8b, gpu: h100, kvDtype: int4}', /pools\[0\]\.hardware\.kvDtype: kv dtype int4 is not supported/],
    ['{model: llama-3.1-8b, gpu: h100, engine: tgi}', /pools\[0\]\.hardware\.engine: must be one of vllm, trtllm/],
    ['{model: llama-3.1-8b}', /pools\[0\]\.hardware\.gpu: required key is missing/],
    ['{model: llama-3.1-8b, gpu: h100, gpus: 2}', /pools\[0\]\.hardware\.gpus: unknown key/],
    ['{model: llama-3.1-70b, gpu: h100}', /pools\[0\]\.hardware: llama-3\.1-70b \(bf16\) does not fit on 1 x h100.*would fit: --tp 2/],
  ];
  for (const [hw, re] of bad) {
    let message = 'no error';
    try {
      parseConfigText(poolWith(hw), 'cfg.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      message = err.message;
    }
    assert.match(message, re, hw);
    assert.ok(message.startsWith('cfg.yaml: '), message);
  }
});

