import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTwinCore } from '../../../src/twin/core/engine.ts';
import { hashBlocks } from '../../../src/twin/core/block-hash.ts';
import type { KvCacheEvent } from '../../../src/twin/core/types.ts';
import { PreciseIndex } from '../../../src/kv/precise-index.ts';
import { recorder, recordingModel, runToIdle, range } from './helpers.ts';

test('end to end on a virtual clock: token times follow the step model', () => {
  const model = recordingModel(0.01, 0.001, 0.002);
  const core = createTwinCore({ stepTime: model, numGpuBlocks: 64 });
  const r = recorder();
  core.add({ id: 'x', promptTokenIds: range(20), maxTokens: 3, arrivalTime: 0 }, r);
  assert.equal(core.hasWork(), true);
  const end = runToIdle(core);
  assert.equal(core.hasWork(), false);
  // prefill 20 tokens: 0.01 + 0.02; then two decode steps of 0.012 each.
  assert.deepEqual(r.times.map((t) => +t.toFixed(9)), [0.03, 0.042, 0.054]);
  assert.equal(r.finish?.reason, 'length');
  assert.equal(r.finish?.time, end);
  assert.deepEqual(model.steps.map((s) => s.decode), [[], [21], [22]]);
  const s = core.stats();
  assert.equal(s.promptTokens, 20);
  assert.equal(s.generationTokens, 3);
  assert.equal(s.running + s.waiting, 0);
  assert.equal(s.kvUsage, 0);
  assert.equal(core.planStep(end), null);
});

test('filler tokens are deterministic per request and drawn from the given ids', () => {
  const run = () => {
    const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 64, fillerTokenIds: [7, 8, 9] });
    const a = recorder();
    const b = recorder();
    core.add({ id: 'a', promptTokenIds: [1, 2, 3], maxTokens: 20, arrivalTime: 0 }, a);
    core.add({ id: 'b', promptTokenIds: [1, 2, 3], maxTokens: 20, arrivalTime: 0 }, b);
    runToIdle(core);
    return [a.tokens, b.tokens];
  };
  const [a1, b1] = run();
  const [a2, b2] = run();
  assert.deepEqual(a1, a2);
  assert.deepEqual(b1, b2);
  assert.notDeepEqual(a1, b1);
  for (const t of [...a1!, ...b1!]) assert.ok([7, 8, 9].includes(t));
});

test('a repeated prompt hits the prefix cache and the counters say so', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 64, blockSize: 16 });
  const first = recorder();
  core.add({ id: 'a', promptTokenIds: range(50), maxTokens: 2, arrivalTime: 0 }, first);
  const t = runToIdle(core);
  const second = recorder();
  core.add({ id: 'b', promptTokenIds: range(50), maxTokens: 2, arrivalTime: t }, second);
  runToIdle(core, t);
  assert.equal(first.finish?.cachedPromptTokens, 0);
  assert.equal(second.finish?.cachedPromptTokens, 48);
  const s = core.stats();
  assert.equal(s.prefixQueriedTokens, 100);
  assert.equal(s.prefixHitTokens, 48);
  // A different salt does not hit.
  const third = recorder();
  core.add({ id: 'c', promptTokenIds: range(50), maxTokens: 2, arrivalTime: t, cacheSalt: 'other' }, third);
  runToIdle(core, t);
  assert.equal(third.finish?.cachedPromptTokens, 0);
});

test('bad and oversize requests are rejected through the observer, and the core carries on', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 4, blockSize: 4, maxWaiting: 2 });
  const cases = [
    { id: 'big', promptTokenIds: range(10), maxTokens: 7, want: /exceeds the KV cache \(16 tokens\)/ },
    { id: 'empty', promptTokenIds: [], maxTokens: 1, want: /at least one token/ },
    { id: 'zero', promptTokenIds: [1], maxTokens: 0, want: /maxTokens/ },
    { id: 'negative', promptTokenIds: [1, -2], maxTokens: 1, want: /token ids must be integers/ },
    { id: 'fraction', promptTokenIds: [1.5], maxTokens: 1, want: /token ids must be integers/ },
  ];
  for (const c of cases) {
    const r = recorder();
    core.add({ ...c, arrivalTime: 0 }, r);
    assert.equal(r.finish?.reason, 'rejected');
    assert.match(r.finish?.message ?? '', c.want);
  }
  const fits = recorder();
  core.add({ id: 'fits', promptTokenIds: range(10), maxTokens: 6, arrivalTime: 0 }, fits);
  const dup = recorder();
  core.add({ id: 'fits', promptTokenIds: range(3), maxTokens: 1, arrivalTime: 0 }, dup);
  assert.match(dup.finish?.message ?? '', /already in use/);
  core.add({ id: 'w2', promptTokenIds: range(3), maxTokens: 1, arrivalTime: 0 }, recorder());
  const full = recorder();
  core.add({ id: 'w3', promptTokenIds: range(3), maxTokens: 1, arrivalTime: 0 }, full);
  assert.match(full.finish?.message ?? '', /waiting queue is full/);
  runToIdle(core);
  assert.equal(fits.tokens.length, 6);
  assert.equal(fits.finish?.reason, 'length');
});

test('abort while waiting, while running and in the middle of a step', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 64, maxNumSeqs: 1 });
  const running = recorder();
  const waiting = recorder();
  core.add({ id: 'run', promptTokenIds: range(40), maxTokens: 50, arrivalTime: 0 }, running);
  core.add({ id: 'wait', promptTokenIds: range(40), maxTokens: 50, arrivalTime: 0 }, waiting);
  let now = 0;
  const plan = core.planStep(now)!;
  core.abort('wait', now); // still waiting
  core.abort('run', now + 0.001); // mid-step: its planned work is dropped at commit
  now += plan.durationSeconds;
  core.commitStep(now);
  assert.equal(running.finish?.reason, 'abort');
  assert.equal(waiting.finish?.reason, 'abort');
  assert.equal(running.tokens.length, 0);
  assert.equal(core.hasWork(), false);
  assert.equal(core.stats().kvUsage, 0);
  assert.equal(core.stats().waiting, 0);
  core.abort('unknown', now); // ignored
  // The queue still works after lazy removal of the aborted waiter.
  const next = recorder();
  core.add({ id: 'next', promptTokenIds: range(5), maxTokens: 2, arrivalTime: now }, next);
  runToIdle(core, now);
  assert.equal(next.finish?.reason, 'length');
});

test('planStep and commitStep must alternate', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 8 });
  assert.throws(() => core.commitStep(0), /without planStep/);
  core.add({ id: 'a', promptTokenIds: [1], maxTokens: 2, arrivalTime: 0 }, recorder());
  core.planStep(0);
  assert.throws(() => core.planStep(0), /twice/);
});

test('a broken step model or observer is reported, not silently absorbed', () => {
  const core = createTwinCore({ stepTime: { stepSeconds: () => Number.NaN }, numGpuBlocks: 8 });
  core.add({ id: 'a', promptTokenIds: [1], maxTokens: 2, arrivalTime: 0 }, recorder());
  assert.throws(() => core.planStep(0), /returned NaN/);

  const errors: string[] = [];
  const ok = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 8, onObserverError: (_e, id) => errors.push(id) });
  const good = recorder();
  ok.add({ id: 'bad', promptTokenIds: [1], maxTokens: 2, arrivalTime: 0 }, { onToken() { throw new Error('boom'); }, onFinish() {} });
  ok.add({ id: 'good', promptTokenIds: [1], maxTokens: 2, arrivalTime: 0 }, good);
  runToIdle(ok);
  assert.deepEqual(errors, ['bad', 'bad']);
  assert.equal(good.tokens.length, 2);
});

test('prefill role holds its blocks after finishing until release', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 16, blockSize: 4 });
  const r = recorder();
  core.add({ id: 'p', promptTokenIds: range(20), maxTokens: 1, arrivalTime: 0, holdBlocksAfterFinish: true }, r);
  runToIdle(core);
  assert.equal(r.finish?.reason, 'length');
  assert.equal(core.stats().heldRequests, 1);
  assert.equal(core.stats().kvUsage, 5 / 16); // the 20 prompt tokens' blocks
  assert.equal(core.hasWork(), false);
  core.release('p');
  core.release('p'); // idempotent
  assert.equal(core.stats().kvUsage, 0);
  assert.equal(core.stats().heldRequests, 0);
});

test('held blocks make later requests wait until release', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 8, blockSize: 4 });
  core.add({ id: 'p', promptTokenIds: range(24), maxTokens: 1, arrivalTime: 0, holdBlocksAfterFinish: true }, recorder());
  runToIdle(core);
  const later = recorder();
  core.add({ id: 'q', promptTokenIds: range(12, 100), maxTokens: 2, arrivalTime: 1 }, later);
  assert.equal(core.planStep(1), null); // 7 of 8 blocks held
  assert.equal(core.hasWork(), true);
  core.abort('p', 1); // abort of a held request releases it
  runToIdle(core, 1);
  assert.equal(later.finish?.reason, 'length');
});

test('decode role: a transferred prompt skips prefill compute', () => {
  const model = recordingModel();
  const core = createTwinCore({ stepTime: model, numGpuBlocks: 64, blockSize: 16 });
  const r = recorder();
  core.add({ id: 'd', promptTokenIds: range(100), maxTokens: 3, arrivalTime: 0, promptKvTransferred: true }, r);
  runToIdle(core);
  assert.deepEqual(model.steps[0], { prefill: [{ tokens: 1, cachedContext: 99 }], decode: [] });
  assert.deepEqual(model.steps.slice(1).map((s) => s.decode), [[101], [102]]);
  assert.equal(r.tokens.length, 3);
  assert.equal(core.stats().promptTokens, 100);
});

test('KV events: stored blocks match hashBlocks over prompt and output, evictions are reported', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 4, blockSize: 4 });
  const a = recorder();
  core.add({ id: 'a', promptTokenIds: range(9), maxTokens: 4, arrivalTime: 0, cacheSalt: 'k' }, a);
  runToIdle(core);
  const events: KvCacheEvent[] = core.drainKvEvents();
  const all = [...range(9), ...a.tokens];
  const stored = events.flatMap((e) => (e.type === 'BlockStored' ? e.blockHashes : []));
  assert.deepEqual(stored, hashBlocks(all, 4, 'k').slice(0, 3)); // 12 computed tokens = 3 full blocks
  const storedTokens = events.flatMap((e) => (e.type === 'BlockStored' ? e.tokenIds : []));
  assert.deepEqual(storedTokens, all.slice(0, 12));
  assert.deepEqual(core.drainKvEvents(), []);
  // A new request needing all 4 blocks evicts the 3 cached ones.
  core.add({ id: 'b', promptTokenIds: range(13, 500), maxTokens: 3, arrivalTime: 1 }, recorder());
  runToIdle(core, 1);
  const removed = core.drainKvEvents().flatMap((e) => (e.type === 'BlockRemoved' ? e.blockHashes : []));
  assert.equal(removed.length, 3);
  assert.deepEqual(new Set(removed), new Set(stored));
});

test('random workload: no leaked block once all requests end, counters add up', () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const core = createTwinCore({ stepTime: recordingModel(0.01, 0.0001, 0.001), numGpuBlocks: 40, blockSize: 8, maxNumBatchedTokens: 96, maxNumSeqs: 6 });
  const obs = new Map<string, ReturnType<typeof recorder>>();
  let now = 0;
  for (let i = 0; i < 60; i++) {
    const prefix = range(8 * rand(5), 0); // shared prefixes
    const prompt = [...prefix, ...range(1 + rand(60), 1000 + i * 100)];
    const maxTokens = 1 + rand(40);
    const r = recorder();
    obs.set(`r${i}`, r);
    core.add({ id: `r${i}`, promptTokenIds: prompt, maxTokens, arrivalTime: now, cacheSalt: rand(4) === 0 ? 'x' : undefined }, r);
    if (rand(7) === 0) core.abort(`r${rand(i + 1)}`, now);
    for (let k = rand(4); k > 0; k--) {
      const plan = core.planStep(now);
      if (!plan) break;
      now += plan.durationSeconds;
      core.commitStep(now);
      assert.equal(core.checkInvariants(), null);
    }
  }
  runToIdle(core, now);
  assert.equal(core.checkInvariants(), null);
  let generated = 0;
  for (const r of obs.values()) {
    assert.ok(r.finish, 'every request finished');
    generated += r.tokens.length;
    if (r.finish.reason === 'length') assert.ok(r.tokens.length >= 1);
    for (let i = 1; i < r.times.length; i++) assert.ok(r.times[i]! > r.times[i - 1]!);
  }
  const s = core.stats();
  assert.equal(s.generationTokens, generated);
  assert.equal(s.kvUsage, 0, 'no leaked blocks');
  assert.equal(s.running + s.waiting, 0);
  assert.ok(s.prefixHitTokens > 0);
  assert.ok(s.preemptions > 0, 'the workload exercised preemption');
});

test('requests aborted while queued behind a blocked head do not pile up', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 8, blockSize: 4, maxWaiting: 10 });
  core.add({ id: 'held', promptTokenIds: range(28), maxTokens: 1, arrivalTime: 0, holdBlocksAfterFinish: true }, recorder());
  runToIdle(core);
  core.add({ id: 'head', promptTokenIds: range(12, 100), maxTokens: 4, arrivalTime: 1 }, recorder());
  assert.equal(core.planStep(1), null); // the head waits for the held blocks
  for (let i = 0; i < 5000; i++) {
    core.add({ id: `x${i}`, promptTokenIds: [1, 2, 3], maxTokens: 1, arrivalTime: 1 }, recorder());
    core.abort(`x${i}`, 1);
  }
  assert.equal(core.stats().waiting, 1);
  const tail = recorder();
  core.add({ id: 'tail', promptTokenIds: [1, 2, 3], maxTokens: 1, arrivalTime: 1 }, tail);
  core.release('held');
  runToIdle(core, 1);
  assert.equal(tail.finish?.reason, 'length');
  assert.equal(core.stats().kvUsage, 0);
});

test('KV events without token ids: the same blocks, and an index that trusts the twin\'s hashes reads them alike', () => {
  const events = (kvEventTokenIds: boolean) => {
    const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 8, blockSize: 4, kvEventTokenIds });
    core.add({ id: 'a', promptTokenIds: range(9), maxTokens: 4, arrivalTime: 0 }, recorder());
    runToIdle(core);
    return core.drainKvEvents();
  };
  const full = events(true);
  const lean = events(false);
  assert.deepEqual(lean.map((e) => (e.type === 'BlockStored' ? { ...e, tokenIds: [] } : e)), full.map((e) => (e.type === 'BlockStored' ? { ...e, tokenIds: [] } : e)));
  assert.ok(lean.every((e) => e.type !== 'BlockStored' || e.tokenIds.length === 0));
  const keys = hashBlocks(range(9), 4);
  const matched = (evs: KvCacheEvent[]) => {
    const index = new PreciseIndex({ engineHashesAreKeys: true });
    for (const e of evs) index.applyEvent('twin', e);
    return index.matchedBlocks(keys, ['twin'], 0);
  };
  assert.deepEqual(matched(lean), [2]);
  assert.deepEqual(matched(lean), matched(full));
});

test('a prompt given as a Uint32Array runs exactly as the same ids in a plain array', () => {
  const run = (promptTokenIds: readonly number[] | Uint32Array) => {
    const core = createTwinCore({ stepTime: recordingModel(0.01, 1e-5), numGpuBlocks: 32, blockSize: 4 });
    const r = recorder();
    core.add({ id: 'a', promptTokenIds, maxTokens: 5, arrivalTime: 0 }, r);
    runToIdle(core);
    return { tokens: r.tokens, times: r.times, finish: r.finish, events: core.drainKvEvents() };
  };
  assert.deepEqual(run(Uint32Array.from(range(21, 100))), run(range(21, 100)));
});

test('prompt block keys given with a request are used as the prompt\'s keys: the same hits and events as hashing them', () => {
  const run = (withKeys: boolean) => {
    const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 32, blockSize: 4 });
    const prompts = [range(10), [...range(8), 70, 71, 72], range(9)];
    const hits: number[] = [];
    prompts.forEach((p, i) => {
      const r = recorder();
      core.add({ id: `r${i}`, promptTokenIds: p, maxTokens: 3, arrivalTime: i, cacheSalt: 's', ...(withKeys ? { promptBlockKeys: hashBlocks(p, 4, 's') } : {}) }, r);
      runToIdle(core, i);
      hits.push(r.finish!.cachedPromptTokens);
    });
    return { hits, events: core.drainKvEvents() };
  };
  const hashed = run(false);
  const given = run(true);
  assert.deepEqual(hashed.hits, [0, 8, 8]);
  assert.deepEqual(given, hashed);
});

test('prefix caching can be turned off: no hits, no events, nothing leaks', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 16, blockSize: 4, enablePrefixCaching: false });
  const a = recorder();
  core.add({ id: 'a', promptTokenIds: range(20), maxTokens: 3, arrivalTime: 0 }, a);
  const t = runToIdle(core);
  const b = recorder();
  core.add({ id: 'b', promptTokenIds: range(20), maxTokens: 3, arrivalTime: t }, b);
  runToIdle(core, t);
  assert.equal(b.finish?.cachedPromptTokens, 0);
  assert.equal(core.stats().prefixHitTokens, 0);
  assert.deepEqual(core.drainKvEvents(), []);
  assert.equal(core.stats().kvUsage, 0);
});

test('a long generation grows the token buffer and keeps hashing the right tokens', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 512, blockSize: 16 });
  const r = recorder();
  core.add({ id: 'long', promptTokenIds: range(5), maxTokens: 3000, arrivalTime: 0 }, r);
  runToIdle(core);
  assert.equal(r.tokens.length, 3000);
  const stored = core.drainKvEvents().flatMap((e) => (e.type === 'BlockStored' ? e.blockHashes : []));
  assert.deepEqual(stored, hashBlocks([...range(5), ...r.tokens], 16).slice(0, stored.length));
  assert.equal(stored.length, Math.floor((5 + 3000 - 1) / 16));
  assert.equal(core.checkInvariants(), null);
});

test('KV events: a salted request names its cache_salt in the first block\'s extra keys, so a re-hashing index tells salts apart', () => {
  // A budget of 8 tokens splits the 16-token prompt into two chunks: one event without a parent, one with.
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 32, blockSize: 4, maxNumBatchedTokens: 8 });
  const prompt = range(16);
  core.add({ id: 's', promptTokenIds: prompt, maxTokens: 1, arrivalTime: 0, cacheSalt: 'tenant-a' }, recorder());
  runToIdle(core);
  const salted = core.drainKvEvents().filter((e) => e.type === 'BlockStored');
  assert.deepEqual(salted.map((e) => e.parentBlockHash === null), [true, false]);
  assert.deepEqual(salted[0]!.extraKeys, [['tenant-a'], null]);
  assert.equal(salted[1]!.extraKeys, undefined);

  core.add({ id: 'u', promptTokenIds: range(16, 100), maxTokens: 1, arrivalTime: 1 }, recorder());
  runToIdle(core, 1);
  const plain = core.drainKvEvents().filter((e) => e.type === 'BlockStored');
  assert.equal(plain.length, 2);
  for (const e of plain) assert.equal(e.extraKeys, undefined); // no salt, no extra keys

  // An index that re-hashes tokens (as it must for vLLM) keys the salted blocks under their salt.
  const index = new PreciseIndex();
  for (const e of [...salted, ...plain]) index.applyEvent('e0', e);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4, 'tenant-a'), ['e0'], 0), [4]);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4), ['e0'], 0), [0]);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4, 'tenant-b'), ['e0'], 0), [0]);
  assert.deepEqual(index.matchedBlocks(hashBlocks(range(16, 100), 4), ['e0'], 0), [4]);
});

test('a finished request\'s token buffer is reused without its stale tokens leaking into the next request\'s blocks', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 64, blockSize: 4 });
  const a = recorder();
  core.add({ id: 'a', promptTokenIds: range(20, 1000), maxTokens: 12, arrivalTime: 0 }, a);
  runToIdle(core);
  core.drainKvEvents();
  // b is shorter than a's buffer: a's prompt and output sit past b's tokens in the reused buffer.
  const b = recorder();
  core.add({ id: 'b', promptTokenIds: range(9, 5000), maxTokens: 8, arrivalTime: 1 }, b);
  runToIdle(core, 1);
  const stored = core.drainKvEvents().flatMap((e) => (e.type === 'BlockStored' ? e.blockHashes : []));
  const all = [...range(9, 5000), ...b.tokens];
  assert.deepEqual(stored, hashBlocks(all, 4).slice(0, Math.floor((all.length - 1) / 4)));
  assert.equal(b.tokens.length, 8);
  assert.equal(core.checkInvariants(), null);
});

test('async scheduling (the default): a request arriving during step N is first computed in step N+2; a synchronous core takes it in N+1', () => {
  for (const asyncScheduling of [true, false]) {
    const model = recordingModel(0.01);
    const core = createTwinCore({ stepTime: model, numGpuBlocks: 64, ...(asyncScheduling ? {} : { asyncScheduling: false }) });
    const a = recorder();
    const b = recorder();
    core.add({ id: 'a', promptTokenIds: range(8), maxTokens: 5, arrivalTime: 0 }, a);
    let now = 0;
    const plan = () => {
      const p = core.planStep(now)!;
      now += p.durationSeconds;
      return p;
    };
    plan(); // step 1: a's prefill (the engine was idle: no plan to miss)
    core.add({ id: 'b', promptTokenIds: range(8, 100), maxTokens: 1, arrivalTime: now - 0.005 }, b); // during step 1
    assert.equal(core.stats().waiting, 1, 'counted as waiting at once');
    core.commitStep(now);
    assert.equal(plan().prefillTokens, asyncScheduling ? 0 : 8, 'step 2');
    core.commitStep(now);
    if (asyncScheduling) {
      assert.equal(plan().prefillTokens, 8, 'step 3');
      core.commitStep(now);
    }
    assert.equal(b.times.length, 1);
    assert.ok(Math.abs(b.times[0]! - (asyncScheduling ? 0.03 : 0.02)) < 1e-12);
    assert.equal(core.checkInvariants(), null);
    runToIdle(core, now);
    assert.equal(a.tokens.length, 5);
  }
});

test('async scheduling: an idle engine takes an arrival at once, and an abort before the queue is clean', () => {
  const core = createTwinCore({ stepTime: recordingModel(0.01), numGpuBlocks: 64 });
  const a = recorder();
  core.add({ id: 'a', promptTokenIds: range(8), maxTokens: 2, arrivalTime: 0 }, a);
  const p = core.planStep(0)!;
  const late = recorder();
  core.add({ id: 'late', promptTokenIds: range(8, 50), maxTokens: 2, arrivalTime: 0.001 }, late);
  core.abort('late', 0.002);
  assert.equal(late.finish?.reason, 'abort');
  assert.equal(core.checkInvariants(), null);
  core.commitStep(p.durationSeconds);
  const end = runToIdle(core, p.durationSeconds);
  assert.equal(core.stats().waiting + core.stats().running, 0);
  // Idle again: the next arrival is planned in the very next step.
  const c = recorder();
  core.add({ id: 'c', promptTokenIds: range(8, 200), maxTokens: 1, arrivalTime: end }, c);
  assert.equal(core.planStep(end)!.prefillTokens, 8);
  core.commitStep(end + 0.01);
  assert.equal(c.finish?.reason, 'length');
  assert.equal(core.checkInvariants(), null);
});

test('LoRA: an adapter\'s blocks are keyed and named apart from the base model\'s, and a step batches at most maxLoras adapters', () => {
  const core = createTwinCore({ stepTime: recordingModel(), numGpuBlocks: 64, blockSize: 4, maxLoras: 1, asyncScheduling: false });
  const prompt = range(8);
  const base = recorder();
  const sql = recorder();
  const math = recorder();
  core.add({ id: 'sql', promptTokenIds: prompt, maxTokens: 3, arrivalTime: 0, lora: 'sql-lora', cacheSalt: 'tenant-a' }, sql);
  core.add({ id: 'math', promptTokenIds: prompt, maxTokens: 3, arrivalTime: 0, lora: 'math-lora' }, math);
  core.add({ id: 'base', promptTokenIds: prompt, maxTokens: 3, arrivalTime: 0 }, base);
  // One adapter slot: the math adapter's request waits while sql-lora runs; the base model's does not.
  core.planStep(0);
  assert.deepEqual(core.stats().lora, { running: ['sql-lora'], waiting: ['math-lora'], max: 1 });
  assert.equal(core.stats().running, 2, 'sql-lora and the base model run together');
  core.commitStep(0.01);
  runToIdle(core, 0.01);
  assert.ok(math.finish && sql.finish && base.finish);
  assert.ok(math.times[0]! > sql.times.at(-1)!, 'math-lora started after sql-lora left its slot');
  assert.equal(math.finish.cachedPromptTokens, 0, 'no prefix shared with another adapter or the base model');

  const stored = core.drainKvEvents().filter((e) => e.type === 'BlockStored');
  const sqlEvent = stored.find((e) => e.loraName === 'sql-lora')!;
  assert.deepEqual(sqlEvent.extraKeys, [['sql-lora', 'tenant-a'], ['sql-lora']], 'the adapter on every block, the salt after it on the first');
  const index = new PreciseIndex();
  for (const e of stored) index.applyEvent('e0', e);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4, 'tenant-a', 'sql-lora'), ['e0'], 0), [2]);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4, undefined, 'math-lora'), ['e0'], 0), [2]);
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4), ['e0'], 0), [2], 'the base model\'s own blocks');
  assert.deepEqual(index.matchedBlocks(hashBlocks(prompt, 4, 'tenant-a'), ['e0'], 0), [0], 'the salt without the adapter is another namespace');
});
