import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { createKvEventPublisher, subscribeKvEvents, type EventBatch, type KvBatchInfo } from '../../../src/kv/events/index.ts';
import { decodeSeq, encodeSeq } from '../../../src/kv/events/wire.ts';
import { until } from '../../helpers/until.ts';

function batch(i: number): EventBatch {
  return { ts: 1000 + i, events: [{ type: 'BlockStored', blockHashes: [BigInt(i + 1)], parentBlockHash: i === 0 ? null : BigInt(i), tokenIds: [i, i], blockSize: 2 }] };
}

/** PUB/SUB joins asynchronously ("slow joiner"): publish a probe batch until one arrives. */
async function warmUp(publish: () => void, received: () => number): Promise<void> {
  const end = Date.now() + 5000;
  while (received() === 0) {
    if (Date.now() > end) throw new Error('subscriber never connected');
    publish();
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const encoding of ['array', 'map'] as const) {
  test(`publisher -> subscriber in the ${encoding} encoding, with topic and seq framing`, async () => {
    const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', topic: 'kv@127.0.0.1@m', encoding });
    const got: Array<[EventBatch, KvBatchInfo]> = [];
    const sub = subscribeKvEvents({ endpoint: pub.endpoint, onBatch: (b, i) => got.push([b, i]) });
    try {
      await warmUp(() => pub.publish({ ts: 1, events: [] }), () => got.length);
      const before = got.length;
      for (let i = 0; i < 20; i++) pub.publish(batch(i));
      await until('20 batches', () => got.length === before + 20);
      const seqs = got.map(([, info]) => info.seq);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1n);
      const [last, info] = got.at(-1)!;
      assert.equal(info.topic, 'kv@127.0.0.1@m');
      assert.equal(info.replayed, false);
      const e = last.events[0]!;
      assert.ok(e.type === 'BlockStored');
      assert.deepEqual(e.blockHashes, [20n]);
      assert.deepEqual(e.tokenIds, [19, 19]);
      assert.equal(sub.stats().gaps, 0);
    } finally {
      await sub.close();
      await pub.close();
    }
  });
}

test('a gap is replayed from last seq + 1 and delivered in order before the live batch', async () => {
  const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', encoding: 'map' });
  const got: KvBatchInfo[] = [];
  const dropped = new Set<bigint>();
  let warm = false;
  const sub = subscribeKvEvents({
    endpoint: pub.endpoint,
    replayEndpoint: pub.replayEndpoint,
    onBatch: (_b, info) => got.push(info),
    // Once warm, lose three live batches in the middle of the stream.
    dropLive: (seq) => {
      if (!warm) return false;
      const drop = dropped.size < 3 && seq % 2n === 0n;
      if (drop) dropped.add(seq);
      return drop;
    },
  });
  try {
    await warmUp(() => pub.publish({ ts: 1, events: [] }), () => got.length);
    warm = true;
    const start = got.at(-1)!.seq + 1n;
    for (let i = 0; i < 10; i++) pub.publish(batch(i));
    await until('the last batch', () => got.at(-1)!.seq === start + 9n);
    const after = got.filter((i) => i.seq >= start);
    assert.deepEqual(after.map((i) => i.seq), Array.from({ length: 10 }, (_, k) => start + BigInt(k)));
    assert.deepEqual(after.filter((i) => i.replayed).map((i) => i.seq), [...dropped]);
    const st = sub.stats();
    assert.equal(st.gaps, 3);
    assert.equal(st.lost, 0);
    assert.equal(pub.stats().replayRequests, 3);
  } finally {
    await sub.close();
    await pub.close();
  }
});

test('without a replay endpoint a gap is reported and counted as lost', async () => {
  const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*' });
  const errors: string[] = [];
  let n = 0;
  let warm = false;
  let droppedOne = false;
  const sub = subscribeKvEvents({
    endpoint: pub.endpoint,
    onBatch: () => { n++; },
    onError: (e) => errors.push(e.message),
    dropLive: () => {
      if (!warm || droppedOne) return false;
      droppedOne = true;
      return true;
    },
  });
  try {
    await warmUp(() => pub.publish({ ts: 1, events: [] }), () => n);
    warm = true;
    const before = n;
    pub.publish(batch(1));
    pub.publish(batch(2));
    await until('the batch after the gap', () => n === before + 1);
    assert.equal(sub.stats().lost, 1);
    assert.match(errors.join('\n'), /lost \(no replay endpoint\)/);
  } finally {
    await sub.close();
    await pub.close();
  }
});

test('replay socket speaks vLLM framing to a raw DEALER: (seq, payload)... then (-1, b"")', async () => {
  const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', bufferSteps: 5 });
  const dealer = new zmq.Dealer({ receiveTimeout: 3000, linger: 0 });
  try {
    for (let i = 0; i < 8; i++) pub.publish(batch(i)); // ring keeps seq 3..7
    dealer.connect(pub.replayEndpoint!);
    await dealer.send([Buffer.alloc(0), encodeSeq(0n)]);
    const seqs: bigint[] = [];
    for (;;) {
      const [empty, seq, payload] = await dealer.receive();
      assert.equal(empty!.length, 0);
      const s = decodeSeq(seq!)!;
      seqs.push(s);
      if (s === -1n) {
        assert.equal(payload!.length, 0);
        break;
      }
    }
    assert.deepEqual(seqs, [3n, 4n, 5n, 6n, 7n, -1n]);
    // A malformed request is ignored, not fatal: the socket still answers the next one.
    await dealer.send([Buffer.from('junk')]);
    await dealer.send([Buffer.alloc(0), encodeSeq(7n)]);
    const [, s7] = await dealer.receive();
    assert.equal(decodeSeq(s7!), 7n);
    await until('the bad request to be counted', () => pub.stats().badReplayRequests === 1);
  } finally {
    dealer.close();
    await pub.close();
  }
});

test('malformed live messages are counted and the subscription keeps going', async () => {
  const raw = new zmq.Publisher({ linger: 0 });
  await raw.bind('tcp://127.0.0.1:*');
  const errors: string[] = [];
  let n = 0;
  const sub = subscribeKvEvents({ endpoint: raw.lastEndpoint!, onBatch: () => { n++; throw new Error('consumer bug'); }, onError: (e) => errors.push(e.message) });
  try {
    const { encodeEventBatch } = await import('../../../src/kv/events/index.ts');
    const good = encodeEventBatch(batch(0), 'array');
    let seq = 0n;
    const end = Date.now() + 5000;
    while (n === 0 && Date.now() < end) {
      await raw.send([Buffer.alloc(0), encodeSeq(seq++), good]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await raw.send([Buffer.alloc(0), Buffer.from([1, 2]), good]); // seq frame of the wrong size
    await raw.send([Buffer.alloc(0), encodeSeq(seq++), Buffer.from('not msgpack')]);
    await raw.send([Buffer.alloc(0), encodeSeq(seq++), good]);
    const target = n + 1;
    await until('the good batch after the bad ones', () => n >= target);
    const st = sub.stats();
    assert.equal(st.undecodable, 2);
    assert.match(errors.join('\n'), /onBatch threw: consumer bug/);
    assert.match(errors.join('\n'), /undecodable batch/);
  } finally {
    await sub.close();
    raw.close();
  }
});

test('a restarted publisher (seq back to 0) is flagged, and its early batches are replayed from 0', async () => {
  const first = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*' });
  const { endpoint, replayEndpoint } = first;
  const got: KvBatchInfo[] = [];
  const sub = subscribeKvEvents({ endpoint, replayEndpoint, onBatch: (_b, info) => got.push(info), onError: () => {} });
  let second: Awaited<ReturnType<typeof createKvEventPublisher>> | undefined;
  try {
    await warmUp(() => first.publish({ ts: 1, events: [] }), () => got.length);
    // Far enough ahead that the new publisher's seq is still below it when the subscriber reconnects
    // (a restart is recognisable only while the new seq is below the last one seen).
    for (let i = 0; i < 300; i++) first.publish(batch(i));
    await until('the first publisher batches', () => got.length >= 301);
    await first.close();
    second = await createKvEventPublisher({ endpoint, replayEndpoint: replayEndpoint! });
    const pub2 = second;
    // Publish while the subscriber reconnects: the batches it misses come back by replay from 0.
    await warmUp(() => pub2.publish(batch(0)), () => got.filter((i) => i.publisherRestarted).length);
    const since = got.findIndex((i) => i.publisherRestarted);
    assert.equal(got[since]!.seq, 0n);
    const after = got.slice(since).map((i) => i.seq);
    assert.deepEqual(after, after.map((_, k) => BigInt(k)));
    assert.equal(sub.stats().restarts, 1);
  } finally {
    await sub.close();
    await first.close();
    await second?.close();
  }
});

test('a port held by a live publisher fails to bind after the retry window; one freed within it binds', async () => {
  const holder = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*' });
  try {
    await assert.rejects(createKvEventPublisher({ endpoint: holder.endpoint, bindRetryMs: 100 }), /cannot bind KV event sockets.*in use/);
    const waiting = createKvEventPublisher({ endpoint: holder.endpoint, bindRetryMs: 3000 });
    setTimeout(() => void holder.close(), 100);
    const next = await waiting;
    assert.equal(next.endpoint, holder.endpoint);
    await next.close();
  } finally {
    await holder.close();
  }
});
