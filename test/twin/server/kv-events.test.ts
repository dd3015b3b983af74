// A live twin publishes vLLM KV events over ZMQ; our subscriber decodes both encodings and
// replays a deliberately dropped batch from the twin's replay socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribeKvEvents, type EventBatch, type KvBatchInfo, type KvEventSubscription } from '../../../src/kv/events/index.ts';
import type { TwinServer } from '../../../src/twin/server/index.ts';
import { MODEL, post, startTestTwin, until } from './helpers.ts';

async function withTwinAndSubscriber(
  encoding: 'array' | 'map',
  dropLive: ((seq: bigint) => boolean) | undefined,
  body: (twin: TwinServer, got: Array<[EventBatch, KvBatchInfo]>, sub: KvEventSubscription) => Promise<void>,
): Promise<void> {
  const twin = await startTestTwin({
    numGpuBlocks: 64,
    kvEvents: { endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', encoding, topic: `kv@127.0.0.1@${MODEL}` },
  });
  const got: Array<[EventBatch, KvBatchInfo]> = [];
  const sub = subscribeKvEvents({ endpoint: twin.kvEventsEndpoint!, replayEndpoint: twin.kvEventsReplayEndpoint, onBatch: (b, i) => got.push([b, i]), dropLive });
  try {
    // PUB/SUB connects asynchronously: serve small requests until the first batch arrives.
    const end = Date.now() + 5000;
    for (let i = 0; got.length === 0; i++) {
      if (Date.now() > end) throw new Error('no KV events arrived');
      await post(twin.url, '/v1/completions', { model: MODEL, prompt: `warm up ${i} `.repeat(8), max_tokens: 1 });
      await new Promise((r) => setTimeout(r, 20));
    }
    await body(twin, got, sub);
  } finally {
    await sub.close();
    await twin.close();
  }
}

for (const encoding of ['array', 'map'] as const) {
  test(`a live twin's BlockStored events carry the prompt's tokens (${encoding} encoding)`, async () => {
    await withTwinAndSubscriber(encoding, undefined, async (twin, got) => {
      const prompt = 'Events should describe exactly these prompt tokens in full blocks. '.repeat(3);
      const ids: number[] = (await post(twin.url, '/tokenize', { prompt })).json().tokens;
      assert.ok(ids.length >= 32);
      const from = got.length;
      assert.equal((await post(twin.url, '/v1/completions', { model: MODEL, prompt, max_tokens: 1 })).status, 200);
      await until(() => got.slice(from).some(([b]) => b.events.some((e) => e.type === 'BlockStored' && e.tokenIds[0] === ids[0] && e.parentBlockHash === null)), 'the prompt blocks');
      const stored = got.slice(from).flatMap(([b]) => b.events).filter((e) => e.type === 'BlockStored');
      const first = stored.find((e) => e.tokenIds[0] === ids[0] && e.parentBlockHash === null)!;
      assert.equal(first.blockSize, 16);
      assert.equal(first.tokenIds.length, first.blockHashes.length * 16);
      assert.deepEqual(first.tokenIds, ids.slice(0, first.tokenIds.length));
      assert.equal(got.at(-1)![1].topic, `kv@127.0.0.1@${MODEL}`);
    });
  });
}

test('distinct prompts past the cache size evict blocks: BlockRemoved events decode', async () => {
  await withTwinAndSubscriber('map', undefined, async (twin, got) => {
    for (let i = 0; i < 12; i++) {
      const r = await post(twin.url, '/v1/completions', { model: MODEL, prompt: `distinct prompt number ${i} `.repeat(20), max_tokens: 1 });
      assert.equal(r.status, 200);
    }
    await until(() => got.some(([b]) => b.events.some((e) => e.type === 'BlockRemoved')), 'a BlockRemoved event');
    const removed = got.flatMap(([b]) => b.events).find((e) => e.type === 'BlockRemoved')!;
    assert.ok(removed.type === 'BlockRemoved' && removed.blockHashes.length > 0);
  });
});

test('a dropped live batch is replayed from the twin and delivered in order', async () => {
  let warm = false;
  let dropped: bigint | undefined;
  const dropLive = (seq: bigint) => {
    if (!warm || dropped !== undefined) return false;
    dropped = seq;
    return true;
  };
  await withTwinAndSubscriber('array', dropLive, async (twin, got, sub) => {
    warm = true;
    for (let i = 0; i < 4; i++) {
      await post(twin.url, '/v1/completions', { model: MODEL, prompt: `after the gap ${i} `.repeat(6), max_tokens: 1 });
    }
    await until(() => dropped !== undefined && got.some(([, info]) => info.seq > dropped!), 'a batch after the dropped one');
    const seqs = got.map(([, info]) => info.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1n, 'contiguous sequence');
    assert.deepEqual(got.filter(([, info]) => info.replayed).map(([, info]) => info.seq), [dropped]);
    assert.equal(sub.stats().gaps, 1);
    assert.equal(sub.stats().lost, 0);
  });
});
