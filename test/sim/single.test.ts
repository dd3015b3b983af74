import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSingleSim } from '../../src/sim/single.ts';
import { percentile, summarize, SampleBuffer } from '../../src/bench/stats.ts';
import type { StepBatch } from '../../src/physics/types.ts';

const bin = fileURLToPath(new URL('../../bin/inferstack.js', import.meta.url));

/** 5 ms per step plus 0.1 ms per prefill token: easy to reason about. */
const linear = { stepSeconds: (b: StepBatch) => 0.005 + 0.0001 * b.prefill.reduce((n, w) => n + w.tokens, 0) };

test('percentiles interpolate like numpy and summaries ignore input order', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([10], 99), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile([1], 101), /0..100/);
  const s = summarize([4, 1, 3, 2]);
  for (const [k, want] of Object.entries({ mean: 2.5, p50: 2.5, p90: 3.7, p99: 3.97 })) {
    assert.ok(Math.abs(s[k as keyof typeof s] - want) < 1e-12, `${k} ${s[k as keyof typeof s]}`);
  }
  const b = new SampleBuffer(100, 7);
  for (let i = 0; i < 10_000; i++) b.push(i);
  assert.equal(b.count, 10_000);
  assert.equal(b.values().length, 100);
  const p50 = b.summary().p50;
  assert.ok(p50 > 2000 && p50 < 8000, `reservoir median ${p50}`);
});

test('the reservoir is a uniform sample of the whole stream, early and late values alike', () => {
  const n = 200_000;
  const k = 2000;
  for (const seed of [1, 2, 3]) {
    const b = new SampleBuffer(k, seed);
    for (let i = 0; i < n; i++) b.push(i);
    const kept = b.values();
    assert.equal(kept.length, k);
    assert.equal(b.summary().mean, (n - 1) / 2, 'the mean covers every value, not just the sample');
    assert.equal(new Set(kept).size, k, 'no value is kept twice');
    // Each tenth of the stream holds about a tenth of the sample: 200 +- 13.4 (one standard deviation).
    const perTenth = new Array<number>(10).fill(0);
    for (const v of kept) perTenth[Math.floor((10 * v) / n)]!++;
    for (const [i, c] of perTenth.entries()) assert.ok(Math.abs(c - 200) < 60, `seed ${seed}: tenth ${i} holds ${c} of ${k}`);
  }
});

test('one request alone: TTFT, TPOT, ITL and E2E follow the step model exactly', () => {
  const r = runSingleSim({ stepTime: linear, numGpuBlocks: 100, isl: 100, osl: 11, concurrency: 1, requests: 1 });
  assert.equal(r.requests, 1);
  assert.ok(Math.abs(r.ttft_ms.p50 - 15) < 1e-6); // 5 ms + 100 x 0.1 ms
  assert.ok(Math.abs(r.tpot_ms.mean - 5) < 1e-6);
  assert.ok(Math.abs(r.itl_ms.p99 - 5) < 1e-6);
  assert.ok(Math.abs(r.e2e_ms.mean - 65) < 1e-6);
  assert.ok(Math.abs(r.throughput_tok_s - 11 / 0.065) < 1e-6);
  assert.equal(r.steps, 11);
});

test('closed loop keeps concurrency in flight and is deterministic', () => {
  const opts = { stepTime: linear, numGpuBlocks: 1000, isl: 64, osl: 20, concurrency: 8, requests: 40 };
  const a = runSingleSim(opts);
  const b = runSingleSim(opts);
  assert.equal(a.requests, 40);
  assert.deepEqual({ ...a, wall_seconds: 0 }, { ...b, wall_seconds: 0 });
  // Output throughput is all output tokens over the run.
  assert.ok(Math.abs(a.throughput_tok_s - (40 * 20) / a.simulated_seconds) < 1e-9);
  // Eight at a time share each decode step: throughput is well above one request's.
  const single = runSingleSim({ ...opts, concurrency: 1, requests: 5 });
  assert.ok(a.throughput_tok_s > 4 * single.throughput_tok_s);
});

test('a small cache queues and preempts; a shared prefix is served from cache', () => {
  const tight = runSingleSim({ stepTime: linear, numGpuBlocks: 40, blockSize: 16, isl: 100, osl: 100, concurrency: 8, requests: 16 });
  assert.equal(tight.requests, 16);
  assert.ok(tight.preemptions > 0);
  const shared = runSingleSim({ stepTime: linear, numGpuBlocks: 1000, isl: 200, osl: 4, concurrency: 2, requests: 20, sharedPrefixTokens: 160 });
  assert.ok(shared.prefix_hit_rate > 0.6, `hit rate ${shared.prefix_hit_rate}`);
  const distinct = runSingleSim({ stepTime: linear, numGpuBlocks: 1000, isl: 200, osl: 4, concurrency: 2, requests: 20 });
  assert.equal(distinct.prefix_hit_rate, 0);
  assert.ok(shared.ttft_ms.mean < distinct.ttft_ms.mean);
});

test('a request that can never fit is an error', () => {
  assert.throws(() => runSingleSim({ stepTime: linear, numGpuBlocks: 2, isl: 100, osl: 10, concurrency: 1, requests: 1 }), /does not fit/);
  assert.throws(() => runSingleSim({ stepTime: linear, numGpuBlocks: 2, isl: 0, osl: 10, concurrency: 1, requests: 1 }), /isl/);
});

function sim(args: string[]) {
  return spawnSync(process.execPath, [bin, 'sim', ...args], { encoding: 'utf8' });
}

test('inferstack sim --json prints one object with the documented keys', () => {
  const r = sim(['--model', 'llama-3.1-8b', '--gpu', 'h100', '--dtype', 'fp8', '--isl', '256', '--osl', '32', '--concurrency', '4', '--requests', '12', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const key of ['ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms']) {
    assert.deepEqual(Object.keys(out[key]), ['mean', 'p50', 'p90', 'p99']);
    for (const v of Object.values(out[key])) assert.ok(typeof v === 'number' && v > 0);
  }
  assert.ok(out.throughput_tok_s > 0);
  assert.equal(out.preemptions, 0);
  assert.equal(out.prefix_hit_rate, 0);
  assert.equal(out.requests, 12);
  assert.equal(out.simulated, true);
  assert.ok(out.e2e_ms.mean > out.ttft_ms.mean);
});

test('inferstack sim --no-async-scheduling: replacements join the next step, not the one after (lower TTFT)', () => {
  const args = ['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '1000', '--osl', '100', '--concurrency', '32', '--requests', '320', '--json'];
  const asyncRun = JSON.parse(sim(args).stdout);
  const syncRun = JSON.parse(sim([...args, '--no-async-scheduling']).stdout);
  assert.ok(asyncRun.ttft_ms.mean > 1.2 * syncRun.ttft_ms.mean, `async ${asyncRun.ttft_ms.mean} vs sync ${syncRun.ttft_ms.mean}`);
  assert.equal(asyncRun.requests, syncRun.requests);
});

test('inferstack sim human output says simulated', () => {
  const r = sim(['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '128', '--osl', '16', '--concurrency', '2', '--requests', '4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /simulated/);
  assert.match(r.stdout, /TTFT/);
  assert.match(r.stdout, /output throughput/);
});

test('inferstack sim errors are one line and exit 2', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--gpu', 'h100', '--isl', '1', '--osl', '1', '--concurrency', '1'], /--model is required/],
    [['--model', 'nope', '--gpu', 'h100', '--isl', '1', '--osl', '1', '--concurrency', '1'], /unknown model 'nope'/],
    [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', 'ten', '--osl', '1', '--concurrency', '1'], /--isl must be an integer/],
    [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '10', '--osl', '1', '--concurrency', '0'], /--concurrency must be an integer/],
    [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '100', '--osl', '1', '--concurrency', '1', '--num-gpu-blocks', '2'], /does not fit the KV cache/],
    [['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '1', '--osl', '1', '--concurrency', '1', '--engine', 'sglang'], /--engine must be/],
    [['--frobnicate'], /Unknown option/],
  ];
  for (const [args, want] of cases) {
    const r = sim(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, want);
  }
});

test('warm-up requests are left out of the latency statistics only', () => {
  const opts = { stepTime: linear, numGpuBlocks: 1000, isl: 200, osl: 10, concurrency: 8, requests: 40, maxNumBatchedTokens: 256 };
  const cold = runSingleSim(opts);
  const warm = runSingleSim({ ...opts, warmupRequests: 8 });
  assert.equal(warm.requests, 40);
  assert.equal(warm.throughput_tok_s, cold.throughput_tok_s);
  // The cold-start burst (8 prompts at once) has the worst TTFTs.
  assert.ok(warm.ttft_ms.p99 < cold.ttft_ms.p99);
  assert.throws(() => runSingleSim({ ...opts, warmupRequests: 40 }), /warm-up/);
});

test('memory for prompts in flight is bounded', () => {
  assert.throws(
    () => runSingleSim({ stepTime: linear, numGpuBlocks: 10_000_000, isl: 100_000, osl: 1, concurrency: 1000, requests: 1000 }),
    /concurrency x \(isl \+ osl\) must be at most/,
  );
});

test('inferstack sim --engine trtllm reserves KV up front: requests queue, nothing is preempted', () => {
  const args = ['--model', 'llama-3.1-8b', '--gpu', 'h100', '--dtype', 'fp8', '--isl', '256', '--osl', '64', '--concurrency', '8', '--requests', '16', '--num-gpu-blocks', '48', '--json'];
  const trt = sim([...args, '--engine', 'trtllm', '--kv-dtype', 'fp8']);
  assert.equal(trt.status, 0, trt.stderr);
  const vllm = sim(args);
  assert.equal(vllm.status, 0, vllm.stderr);
  const t = JSON.parse(trt.stdout);
  const v = JSON.parse(vllm.stdout);
  assert.equal(t.requests, 16);
  assert.equal(t.preemptions, 0);
  assert.ok(v.preemptions > 0);
});

test('client delay: replacements arrive later, every request still runs once, runs are reproducible', () => {
  const opts = { stepTime: linear, numGpuBlocks: 1000, isl: 64, osl: 8, concurrency: 4, requests: 30, clientDelayMaxSeconds: 0.05 };
  const a = runSingleSim(opts);
  const b = runSingleSim(opts);
  assert.equal(a.requests, 30);
  assert.deepEqual({ ...a, wall_seconds: 0 }, { ...b, wall_seconds: 0 });
  const atOnce = runSingleSim({ ...opts, clientDelayMaxSeconds: 0 });
  // The engine idles while clients think: the same work takes longer.
  assert.ok(a.simulated_seconds > atOnce.simulated_seconds);
  assert.ok(a.throughput_tok_s < atOnce.throughput_tok_s);
  assert.throws(() => runSingleSim({ ...opts, clientDelayMaxSeconds: -1 }), /client delay/);
  const r = sim(['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '1', '--osl', '1', '--concurrency', '1', '--client-delay-ms', 'soon']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--client-delay-ms must be/);
});

test('a staggered start puts the clients out of phase: each prompt is prefilled alone, not in a burst', () => {
  // Synchronous scheduling, so a replacement joins the step right after its predecessor's last one.
  const opts = { stepTime: linear, numGpuBlocks: 1000, isl: 64, osl: 40, concurrency: 4, requests: 20, warmupRequests: 4, asyncScheduling: false };
  const burst = runSingleSim(opts);
  const staggered = runSingleSim({ ...opts, start: 'staggered' as const });
  // In lock step the four prompts of a round share one step: 5 ms + 4 x 64 x 0.1 ms.
  assert.ok(Math.abs(burst.ttft_ms.mean - 30.6) < 1e-6, `burst TTFT ${burst.ttft_ms.mean}`);
  // Out of phase, every step prefills at most one prompt: 5 ms + 64 x 0.1 ms, for every request.
  assert.ok(Math.abs(staggered.ttft_ms.p99 - 11.4) < 1e-6, `staggered TTFT p99 ${staggered.ttft_ms.p99}`);
  assert.ok(Math.abs(staggered.ttft_ms.mean - 11.4) < 1e-6);
  // Only the first wave is shortened: every measured request still generates all 40 tokens.
  assert.equal(staggered.requests, 20);
  assert.ok(Math.abs(staggered.tpot_ms.mean - burst.tpot_ms.mean) / burst.tpot_ms.mean < 0.5);
  assert.throws(() => runSingleSim({ ...opts, start: 'later' as 'burst' }), /start must be/);
});

test('a prompt pool repeats prompts, which the prefix cache serves; the pick is seeded', () => {
  const opts = { stepTime: linear, numGpuBlocks: 2000, isl: 160, osl: 4, concurrency: 2, requests: 40 };
  assert.equal(runSingleSim(opts).prefix_hit_rate, 0);
  const pooled = runSingleSim({ ...opts, promptPool: 4 });
  // 40 draws from 4 prompts: at most 4 misses, and a hit serves all but the last block (144 of 160).
  assert.ok(pooled.prefix_hit_rate > 0.7 && pooled.prefix_hit_rate <= 144 / 160, `hit rate ${pooled.prefix_hit_rate}`);
  assert.deepEqual({ ...pooled, wall_seconds: 0 }, { ...runSingleSim({ ...opts, promptPool: 4 }), wall_seconds: 0 });
  assert.notDeepEqual(
    { ...runSingleSim({ ...opts, promptPool: 4, seed: 2, numGpuBlocks: 20 }), wall_seconds: 0 },
    { ...runSingleSim({ ...opts, promptPool: 4, seed: 3, numGpuBlocks: 20 }), wall_seconds: 0 },
  );
  // Without prefix caching the repeats are computed again.
  assert.equal(runSingleSim({ ...opts, promptPool: 4, enablePrefixCaching: false }).prefix_hit_rate, 0);
  assert.throws(() => runSingleSim({ ...opts, promptPool: -1 }), /prompt pool/);
});

test('a drained warm-up: the measured phase starts as one burst after the last warm-up request ends', () => {
  const opts = { stepTime: linear, numGpuBlocks: 1000, isl: 64, osl: 40, concurrency: 4, requests: 24, warmupRequests: 8, asyncScheduling: false, start: 'staggered' as const };
  const continuous = runSingleSim(opts);
  const drained = runSingleSim({ ...opts, drainAfterWarmup: true });
  assert.equal(drained.requests, 24);
  // Continuous, the clients stay out of phase; drained, the first measured round is a burst again
  // (4 prompts in one 30.6 ms step) and the loop stays in lock step from then on.
  assert.ok(Math.abs(continuous.ttft_ms.mean - 11.4) < 1e-6, `continuous ${continuous.ttft_ms.mean}`);
  assert.ok(Math.abs(drained.ttft_ms.mean - 30.6) < 1e-6, `drained ${drained.ttft_ms.mean}`);
});

test('inferstack sim --start, --prompt-pool and --drain-warmup: accepted, and bad values are one-line errors', () => {
  const base = ['--model', 'llama-3.1-8b', '--gpu', 'h100', '--isl', '512', '--osl', '64', '--concurrency', '8', '--requests', '64', '--json'];
  const burst = sim(base);
  const staggered = sim([...base, '--start', 'staggered']);
  assert.equal(staggered.status, 0, staggered.stderr);
  assert.ok(JSON.parse(staggered.stdout).ttft_ms.mean < JSON.parse(burst.stdout).ttft_ms.mean);
  const pooled = sim([...base, '--prompt-pool', '8', '--warmup', '16', '--drain-warmup']);
  assert.equal(pooled.status, 0, pooled.stderr);
  assert.ok(JSON.parse(pooled.stdout).prefix_hit_rate > 0.5);
  for (const [args, message] of [[['--start', 'later'], /--start must be burst or staggered/], [['--prompt-pool', '-3'], /--prompt-pool/]] as const) {
    const r = sim([...base, ...args]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('inferstack sim --hardware-file: an accelerator from the file, its KV sized at the step budget given', () => {
  const file = fileURLToPath(new URL('../../bench/data/workstation-gpus.yaml', import.meta.url));
  const args = ['--model', 'llama-3.1-8b', '--gpu', 'rtx4090', '--isl', '256', '--osl', '16', '--concurrency', '4', '--requests', '8'];
  const r = sim([...args, '--hardware-file', file, '--max-num-batched-tokens', '2048']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /on 1 x rtx4090/);
  assert.match(r.stdout, /KV cache 2620 blocks/); // vLLM 0.19 logged 2,588 on this card at 2,048 tokens
  const unknown = sim(args);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /rtx4090/);
});
