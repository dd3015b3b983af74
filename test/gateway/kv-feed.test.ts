// The gateway's live KV feed: an endpoint's `kvEvents` config makes the pool subscribe to that
// engine's publisher; its events reach the pool's precise index (and the metrics); a reload or
// shutdown closes the subscriber; a bad kvEvents key is a config error naming the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKvEventPublisher } from '../../src/kv/events/publisher.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, gatewayFor, metricSum, poolOf } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

test('kvEvents: engine events feed the pool precise index and the kv_events metric; reload closes the feed', async (t) => {
  const engine = await startFakeEngine();
  const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*' });
  const gw = await gatewayFor([], {
    policy: 'llm-d-precise',
    endpoints: [{ url: engine.url, engine: 'vllm', kvEvents: { endpoint: pub.endpoint, replayEndpoint: pub.replayEndpoint } }],
  });
  t.after(async () => { await gw.close(); await pub.close(); await engine.close(); });
  const pool = gw.state().pools[0]!;
  const id = pool.endpoints[0]!.id;
  const tokens = Array.from({ length: 32 }, (_, i) => i + 1);
  const keys = hashBlocks(tokens, 16);
  // PUB drops messages until the SUB connection is up: keep publishing until one lands.
  await until('an event to land', () => {
    pub.publish({ ts: Date.now() / 1000, events: [{ type: 'BlockStored', blockHashes: [7n, 8n], parentBlockHash: null, tokenIds: tokens, blockSize: 16 }] });
    return pool.kvFeed.index.matchedBlocks(keys, [id], 0)[0] === 2;
  });
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('inferstack_gateway_kv_events_total{'));
  assert.ok(line && line.includes(id) && Number(line.split(' ').at(-1)) >= 1, `kv events metric: ${line}`);

  // A reload builds a new pool with a new (empty, until fed) index; the old feed is closed.
  await gw.reload(configFor([poolOf([engine.url])]));
  const after = gw.state().pools[0]!;
  assert.notEqual(after, pool);
  assert.equal(after.kvFeed.enabled, false);
  for (let i = 0; i < 10; i++) {
    pub.publish({ ts: Date.now() / 1000, events: [{ type: 'AllBlocksCleared' }] });
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(pool.kvFeed.index.matchedBlocks(keys, [id], 0)[0], 2, 'the retired pool no longer listens');
});

test('kvEvents: config errors name the key', () => {
  const bad = (kvEvents: unknown) => () => configFor([{ ...poolOf(['http://127.0.0.1:1']), endpoints: [{ url: 'http://127.0.0.1:1', engine: 'vllm', kvEvents } as never] }]);
  assert.throws(bad({ endpoint: 'http://x:1' }), /endpoints\[0\]\.kvEvents\.endpoint/);
  assert.throws(bad({ replayEndpoint: 'tcp://127.0.0.1:5' }), /kvEvents/);
  assert.throws(bad({ endpoint: 'tcp://127.0.0.1:5', colour: 1 }), /kvEvents/);
});

test('kvEvents with dataParallelSize: one subscriber per rank at port + rank, the endpoint matching its ranks on average', async (t) => {
  const engine = await startFakeEngine();
  // Two publishers on consecutive ports, as vLLM's ranks bind them.
  let pubs: Awaited<ReturnType<typeof createKvEventPublisher>>[] = [];
  for (let attempt = 0; pubs.length < 2 && attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    try {
      pubs = [await createKvEventPublisher({ endpoint: `tcp://127.0.0.1:${base}` }), await createKvEventPublisher({ endpoint: `tcp://127.0.0.1:${base + 1}` })];
    } catch {
      await Promise.all(pubs.map((p) => p.close()));
      pubs = [];
    }
  }
  assert.equal(pubs.length, 2, 'two consecutive free ports');
  const gw = await gatewayFor([], { policy: 'llm-d-precise', endpoints: [{ url: engine.url, engine: 'vllm', kvEvents: { endpoint: pubs[0]!.endpoint, dataParallelSize: 2 } }] });
  t.after(async () => { await gw.close(); await Promise.all(pubs.map((p) => p.close())); await engine.close(); });
  const pool = gw.state().pools[0]!;
  const id = pool.endpoints[0]!.id;
  const tokens = Array.from({ length: 32 }, (_, i) => i + 1);
  const keys = hashBlocks(tokens, 16);
  const storedOn = (pub: typeof pubs[0], blocks: number) =>
    pub.publish({ ts: Date.now() / 1000, events: [{ type: 'BlockStored', blockHashes: [7n, 8n].slice(0, blocks), parentBlockHash: null, tokenIds: tokens.slice(0, 16 * blocks), blockSize: 16 }] });
  // Rank 0 holds both blocks, rank 1 the first: the endpoint's expected match is 1.5 blocks.
  await until('both ranks heard', () => {
    storedOn(pubs[0]!, 2);
    storedOn(pubs[1]!, 1);
    return pool.kvFeed.index.matchedBlocks(keys, [id], 0)[0] === 1.5;
  });
  assert.equal(await metricSum(gw.url, 'inferstack_gateway_kv_events_total', { endpoint: id }) >= 2, true, 'both ranks count under the endpoint');
  assert.throws(() => configFor([{ ...poolOf(['http://127.0.0.1:1']), endpoints: [{ url: 'http://127.0.0.1:1', engine: 'vllm', kvEvents: { endpoint: 'tcp://engine', dataParallelSize: 2 } } as never] }]), /kvEvents: dataParallelSize needs endpoints with a port number/);
});
