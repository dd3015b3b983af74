import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTwinCore } from '../../../src/twin/core/engine.ts';
import { createRealtimeTwin, type RealtimeTwin } from '../../../src/twin/realtime.ts';
import type { KvCacheEvent } from '../../../src/twin/core/types.ts';
import { recorder, recordingModel, range, type Recorded } from './helpers.ts';

function finished(twin: RealtimeTwin, id: string, prompt: number[], maxTokens: number, extra = {}): Promise<Recorded> {
  return new Promise((resolve) => {
    const r = recorder();
    twin.add({ id, promptTokenIds: prompt, maxTokens, ...extra }, {
      onToken: (t, time) => r.onToken(t, time),
      onFinish: (reason, time, info) => {
        r.onFinish(reason, time, info);
        resolve(r);
      },
    });
  });
}

test('instant timing serves concurrent requests and publishes KV events', async () => {
  const twin = createRealtimeTwin({ core: createTwinCore({ stepTime: recordingModel(1), numGpuBlocks: 64 }), timing: 'instant' });
  const events: KvCacheEvent[] = [];
  const off = twin.onKvEvents((e) => events.push(...e));
  const t0 = twin.now();
  const done = await Promise.all([0, 1, 2].map((i) => finished(twin, `r${i}`, range(40, i * 1000), 30)));
  for (const r of done) {
    assert.equal(r.finish?.reason, 'length');
    assert.equal(r.tokens.length, 30);
  }
  // Instant: a 1 s modelled step took no real time.
  assert.ok(done[0]!.finish!.time - t0 < 30);
  assert.ok(events.some((e) => e.type === 'BlockStored'));
  assert.equal(twin.inFlight(), 0);
  assert.equal(twin.stats().generationTokens, 90);
  off();
  twin.close();
});

test('model timing spaces tokens by the modelled step duration', async () => {
  const twin = createRealtimeTwin({ core: createTwinCore({ stepTime: recordingModel(0.002), numGpuBlocks: 64 }) });
  assert.equal(twin.timing, 'model');
  const before = twin.now();
  const r = await finished(twin, 'a', range(10), 5);
  assert.ok(r.times[0]! - before >= 0.002 - 1e-9);
  for (let i = 1; i < r.times.length; i++) assert.ok(r.times[i]! - r.times[i - 1]! >= 0.002 - 1e-9);
  twin.close();
});

test('abort, release, duplicate ids and close', async () => {
  const core = createTwinCore({ stepTime: recordingModel(0.001), numGpuBlocks: 4096, blockSize: 4 });
  const twin = createRealtimeTwin({ core, timing: 'instant' });
  const long = finished(twin, 'long', range(10), 10_000);
  const dup = await finished(twin, 'long', range(3), 1);
  assert.equal(dup.finish?.reason, 'rejected');
  twin.abort('long');
  assert.equal((await long).finish?.reason, 'abort');

  const held = await finished(twin, 'p', range(16), 1, { holdBlocksAfterFinish: true });
  assert.equal(held.finish?.reason, 'length');
  assert.equal(twin.stats().heldRequests, 1);
  twin.release('p');
  assert.equal(twin.stats().kvUsage, 0);

  const pending = finished(twin, 'pending', range(10), 10_000);
  twin.close();
  const p = await pending;
  assert.equal(p.finish?.reason, 'abort');
  const after = await finished(twin, 'late', range(3), 1);
  assert.equal(after.finish?.reason, 'rejected');
  assert.match(after.finish?.message ?? '', /shut down/);
  assert.throws(() => createRealtimeTwin({ core, timing: 'fast' as 'model' }), /timing/);
});

test('a failing core ends requests in flight instead of crashing the process', async () => {
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    const twin = createRealtimeTwin({ core: createTwinCore({ stepTime: { stepSeconds: () => -1 }, numGpuBlocks: 8 }), timing: 'instant' });
    const r = await finished(twin, 'x', [1, 2], 2);
    assert.equal(r.finish?.reason, 'abort');
    assert.match(r.finish?.message ?? '', /internal engine error/);
    assert.equal(errors.length, 1);
    twin.close();
  } finally {
    console.error = original;
  }
});

test('KV event listeners can unsubscribe; a throwing listener does not stop the others', async () => {
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    const twin = createRealtimeTwin({ core: createTwinCore({ stepTime: recordingModel(0.001), numGpuBlocks: 64, blockSize: 4 }), timing: 'instant' });
    let kept = 0;
    let dropped = 0;
    twin.onKvEvents(() => {
      throw new Error('listener bug');
    });
    twin.onKvEvents((e) => (kept += e.length));
    const off = twin.onKvEvents((e) => (dropped += e.length));
    off();
    const pending = finished(twin, 'a', range(16), 4);
    assert.equal(twin.inFlight(), 1);
    await pending;
    assert.ok(kept > 0);
    assert.equal(dropped, 0);
    assert.ok(errors.length > 0);
    assert.equal(twin.inFlight(), 0);
    twin.close();
  } finally {
    console.error = original;
  }
});
