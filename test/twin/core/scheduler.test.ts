import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTwinCore } from '../../../src/twin/core/engine.ts';
import { recorder, recordingModel, runToIdle, range, type Recorded } from './helpers.ts';

test('chunked prefill: every step stays within the token budget and prefills in order', () => {
  const model = recordingModel();
  const core = createTwinCore({ stepTime: model, numGpuBlocks: 256, blockSize: 16, maxNumBatchedTokens: 64 });
  const a = recorder();
  const b = recorder();
  core.add({ id: 'a', promptTokenIds: range(200), maxTokens: 4, arrivalTime: 0 }, a);
  core.add({ id: 'b', promptTokenIds: range(30, 5000), maxTokens: 4, arrivalTime: 0 }, b);
  runToIdle(core);
  for (const s of model.steps) {
    const tokens = s.prefill.reduce((n, w) => n + w.tokens, 0) + s.decode.length;
    assert.ok(tokens <= 64, `step of ${tokens} tokens`);
  }
  // a's prompt in chunks of 64 on top of what is already computed; b fills the rest of the last step.
  assert.deepEqual(model.steps.slice(0, 4).map((s) => s.prefill), [
    [{ tokens: 64, cachedContext: 0 }],
    [{ tokens: 64, cachedContext: 64 }],
    [{ tokens: 64, cachedContext: 128 }],
    [{ tokens: 8, cachedContext: 192 }, { tokens: 30, cachedContext: 0 }],
  ]);
  assert.deepEqual(model.steps[4], { prefill: [], decode: [201, 31] });
  assert.equal(a.tokens.length, 4);
  assert.equal(b.tokens.length, 4);
  assert.equal(a.times[0], 0.04); // first token at the end of the step that finished the prompt
});

test('max sequences bounds the running batch; the rest wait in arrival order', () => {
  const model = recordingModel();
  const core = createTwinCore({ stepTime: model, numGpuBlocks: 256, maxNumSeqs: 2 });
  const finished: string[] = [];
  for (let i = 0; i < 5; i++) {
    core.add({ id: `r${i}`, promptTokenIds: range(10, i * 100), maxTokens: 3 + i, arrivalTime: 0 }, {
      onToken() {},
      onFinish: () => finished.push(`r${i}`),
    });
  }
  assert.equal(core.stats().waiting, 5);
  let maxRunning = 0;
  let now = 0;
  for (let plan = core.planStep(now); plan; plan = core.planStep(now)) {
    maxRunning = Math.max(maxRunning, core.stats().running);
    now += plan.durationSeconds;
    core.commitStep(now);
  }
  assert.equal(maxRunning, 2);
  for (const s of model.steps) assert.ok(s.prefill.length + s.decode.length <= 2);
  assert.deepEqual(finished, ['r0', 'r1', 'r2', 'r3', 'r4']);
});

test('out of blocks: the newest running request is preempted, recomputed later, and its output is unchanged', () => {
  // 8 blocks of 4 tokens; two requests of 8 + 12 tokens need 5 blocks each: they cannot both finish together.
  const run = (numGpuBlocks: number) => {
    const model = recordingModel();
    const core = createTwinCore({ stepTime: model, numGpuBlocks, blockSize: 4 });
    const obs: Record<string, Recorded> = { old: recorder(), new: recorder() };
    core.add({ id: 'old', promptTokenIds: range(8), maxTokens: 12, arrivalTime: 0 }, obs.old as never);
    core.add({ id: 'new', promptTokenIds: range(8, 100), maxTokens: 12, arrivalTime: 0 }, obs.new as never);
    runToIdle(core);
    return { model, core, obs };
  };
  const tight = run(8);
  const roomy = run(64);
  assert.equal(roomy.core.stats().preemptions, 0);
  assert.ok(tight.core.stats().preemptions >= 1);
  // The older request keeps running; the newer one finishes after it.
  assert.ok(tight.obs.old!.finish!.time < tight.obs.new!.finish!.time);
  assert.equal(tight.obs.old!.finish!.reason, 'length');
  assert.equal(tight.obs.new!.finish!.reason, 'length');
  // Recompute: after preemption the newer request is prefilled again over prompt + tokens it had generated.
  const recompute = tight.model.steps.find((s, i) => i > 0 && s.prefill.length > 0);
  assert.ok(recompute, 'a recompute prefill step');
  const w = recompute.prefill[0]!;
  assert.ok(w.tokens + w.cachedContext > 8, `recompute covers generated tokens too: ${JSON.stringify(w)}`);
  // Deterministic filler: same tokens as without preemption.
  assert.deepEqual(tight.obs.new!.tokens, roomy.obs.new!.tokens);
  assert.equal(tight.obs.new!.tokens.length, 12);
  assert.equal(tight.core.stats().kvUsage, 0);
});

test('under heavy block pressure every request still finishes with all its tokens, and nothing leaks', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 6, blockSize: 4 });
  const obs = ['a', 'b', 'c'].map((id, i) => {
    const r = recorder();
    core.add({ id, promptTokenIds: range(7, i * 10), maxTokens: 9, arrivalTime: 0 }, r);
    return r;
  });
  runToIdle(core);
  assert.ok(core.stats().preemptions >= 2);
  for (const r of obs) {
    assert.equal(r.finish?.reason, 'length');
    assert.equal(r.tokens.length, 9);
  }
  assert.equal(core.stats().generationTokens, 27);
  assert.equal(core.stats().kvUsage, 0);
});

test("full KV reservation (TensorRT-LLM) makes requests wait instead of preempting", () => {
  const run = (kvReservation: 'on-demand' | 'full') => {
    const model = recordingModel();
    const core = createTwinCore({ stepTime: model, numGpuBlocks: 12, blockSize: 4, kvReservation });
    const obs = [0, 1, 2].map((i) => {
      const r = recorder();
      core.add({ id: `r${i}`, promptTokenIds: range(8, i * 100), maxTokens: 12, arrivalTime: 0 }, r);
      return r;
    });
    const firstStepSeqs = (core.planStep(0), core.stats().running);
    core.commitStep(0.01);
    runToIdle(core, 0.01);
    return { core, obs, firstStepSeqs };
  };
  const onDemand = run('on-demand');
  const full = run('full');
  assert.equal(onDemand.firstStepSeqs, 3);
  assert.ok(onDemand.core.stats().preemptions > 0);
  assert.equal(full.firstStepSeqs, 2); // 5 blocks reserved each: only two fit in 12
  assert.equal(full.core.stats().preemptions, 0);
  for (const r of full.obs) assert.equal(r.tokens.length, 12);
  assert.deepEqual(full.obs.map((r) => r.tokens), onDemand.obs.map((r) => r.tokens));
  assert.equal(full.core.stats().kvUsage, 0);
  assert.throws(() => createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 4, kvReservation: 'lazy' as 'full' }), /kvReservation/);
});
