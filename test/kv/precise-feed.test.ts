// The precise index fed over real ZMQ sockets (loopback) by our vLLM-compatible publisher, in
// both encodings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKvEventPublisher } from '../../src/kv/events/publisher.ts';
import { feedPreciseIndex } from '../../src/kv/precise-feed.ts';
import { PreciseIndex } from '../../src/kv/precise-index.ts';
import { hashBlocks } from '../../src/twin/core/block-hash.ts';
import { until } from '../helpers/until.ts';

for (const encoding of ['array', 'map'] as const) {
  test(`events over ZMQ (${encoding} encoding) reach the index; removal and clear follow`, async () => {
    const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', encoding });
    const index = new PreciseIndex();
    const sub = feedPreciseIndex(index, 'engine-a', { endpoint: pub.endpoint, replayEndpoint: pub.replayEndpoint });
    try {
      const tokens = Array.from({ length: 64 }, (_, i) => i + 1);
      const keys = hashBlocks(tokens, 16);
      const engine = [11n, 12n, 13n, 14n]; // the engine's own hashes differ from ours
      // PUB drops messages until the SUB connection is up: keep publishing until one lands.
      await until('an event to land', () => {
        pub.publish({ ts: Date.now() / 1000, events: [{ type: 'BlockStored', blockHashes: engine, parentBlockHash: null, tokenIds: tokens, blockSize: 16 }] });
        return index.matchedBlocks(keys, ['engine-a'], 0)[0] === 4;
      });
      pub.publish({ ts: Date.now() / 1000, events: [{ type: 'BlockRemoved', blockHashes: [13n] }] });
      await until('the removal: two blocks left', () => index.matchedBlocks(keys, ['engine-a'], 0)[0] === 2);
      pub.publish({ ts: Date.now() / 1000, events: [{ type: 'AllBlocksCleared' }] });
      await until('the blocks dropped', () => index.matchedBlocks(keys, ['engine-a'], 0)[0] === 0);
    } finally {
      await sub.close();
      await pub.close();
    }
  });
}
