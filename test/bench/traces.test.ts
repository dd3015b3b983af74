// Trace readers, on small generated files in every supported format (plain and gzipped).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ceilingHitRate } from '../../src/bench/traces/ceiling.ts';
import { readTrace, TraceFormatError } from '../../src/bench/traces/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'traces-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const mooncake = [
  { timestamp: 0, input_length: 1000, output_length: 10, hash_ids: [0, 1] },
  { timestamp: 0, input_length: 1100, output_length: 20, hash_ids: [0, 1, 2] },
  { timestamp: 3000, input_length: 600, output_length: 5, hash_ids: [0, 3] },
].map((r) => JSON.stringify(r)).join('\n');

test('mooncake: equal hash ids give equal 512-token blocks; arrivals jittered inside the slot, sorted', () => {
  const t = readTrace(file('mc.jsonl.gz', gzipSync(mooncake)), { seed: 1 });
  assert.equal(t.format, 'mooncake');
  assert.equal(t.requests.length, 3);
  const [a, b] = t.requests.filter((r) => r.promptTokens >= 1000).sort((x, y) => x.promptTokens - y.promptTokens);
  const ta = a!.tokenIds();
  const tb = b!.tokenIds();
  assert.equal(ta.length, 1000);
  assert.equal(tb.length, 1100);
  assert.deepEqual(ta, tb.slice(0, 1000), 'shared ids [0, 1] -> same first 1000 tokens (block 1 partial in a)');
  assert.notDeepEqual(t.requests.find((r) => r.promptTokens === 600)!.tokenIds().slice(512, 600), ta.slice(512, 600));
  for (let i = 1; i < t.requests.length; i++) assert.ok(t.requests[i]!.arrival >= t.requests[i - 1]!.arrival);
  const late = t.requests.find((r) => r.promptTokens === 600)!;
  assert.ok(late.arrival >= 3 && late.arrival < 6);
  const bursts = readTrace(file('mc2.jsonl', mooncake), { jitterSlotSeconds: 0 });
  assert.deepEqual(bursts.requests.map((r) => r.arrival), [0, 0, 3]);
  // Ceiling: second request reuses 2 blocks (1024 tokens, capped to full 16-token blocks),
  // third reuses 1 block (512): (1024 + 512) / 2700.
  assert.ok(Math.abs(ceilingHitRate(bursts.requests, 16) - 1536 / 2700) < 1e-9);
});

test('azure: datetimes become seconds from the first request; no shared prefixes', () => {
  const t = readTrace(file('az.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n'));
  assert.equal(t.format, 'azure');
  assert.ok(Math.abs(t.requests[1]!.arrival - 4.314579) < 1e-6);
  assert.equal(t.requests[0]!.tokenIds().length, 374);
  assert.equal(ceilingHitRate(t.requests, 16), 0);
});

test('sharegpt ids and length-only CSV with seeded Poisson arrivals', () => {
  const sg = readTrace(file('sg.jsonl', [1, 2].map((i) => JSON.stringify({ input_toks: 3, output_toks: 7, arrival_time_ns: i * 5e8, input_tok_ids: [1, 2, i] })).join('\n')));
  assert.equal(sg.format, 'sharegpt-ids');
  assert.deepEqual(sg.requests.map((r) => r.arrival), [0.5, 1]);
  assert.deepEqual([...sg.requests[1]!.tokenIds()], [1, 2, 2]);
  const csv = 'num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n' + Array.from({ length: 2000 }, () => '100,50,150,2').join('\n');
  const a = readTrace(file('len.csv', csv), { poissonRate: 10, seed: 3 });
  const b = readTrace(file('len.csv', csv), { poissonRate: 10, seed: 3 });
  assert.deepEqual(a.requests.map((r) => r.arrival), b.requests.map((r) => r.arrival));
  const span = a.requests.at(-1)!.arrival;
  assert.ok(Math.abs(2000 / span - 10) < 1, `rate ${2000 / span}`);
});

test('sharegpt ids: redrawn arrivals are another seeded Poisson draw at the file mean rate, same requests in the same order', () => {
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ input_toks: 2, output_toks: 5, arrival_time_ns: 1e9 + i * 1e8, input_tok_ids: [7, i] })).join('\n');
  const path = file('sg-many.jsonl', lines);
  const fileOrder = readTrace(path).requests;
  const one = readTrace(path, { redrawArrivals: true, seed: 1 }).requests;
  const again = readTrace(path, { redrawArrivals: true, seed: 1 }).requests;
  const other = readTrace(path, { redrawArrivals: true, seed: 2 }).requests;
  assert.deepEqual(one.map((r) => r.arrival), again.map((r) => r.arrival), 'seeded');
  assert.notDeepEqual(one.map((r) => r.arrival), other.map((r) => r.arrival));
  assert.deepEqual(one.map((r) => r.id), fileOrder.map((r) => r.id));
  assert.equal(one[0]!.arrival, 1, 'starts where the file starts');
  const rate = (rs: typeof one) => (rs.length - 1) / (rs.at(-1)!.arrival - rs[0]!.arrival);
  assert.ok(Math.abs(rate(one) - 10) < 1, `mean rate ${rate(one)} against the file's 10/s`);
  const gaps = one.slice(1).map((r, i) => r.arrival - one[i]!.arrival);
  const cv = Math.sqrt(gaps.reduce((s, g) => s + (g - 0.1) ** 2, 0) / gaps.length) / 0.1;
  assert.ok(Math.abs(cv - 1) < 0.15, `exponential gaps have a coefficient of variation of 1, got ${cv}`);
  assert.throws(() => readTrace(file('len2.csv', 'num_prefill_tokens,num_decode_tokens\n1,1'), { redrawArrivals: true }), /ShareGPT token ids/);
});

test('bad traces are clear errors', () => {
  assert.throws(() => readTrace(join(dir, 'missing.jsonl')), TraceFormatError);
  assert.throws(() => readTrace(file('bad.jsonl', '{"hash_ids": [1], "timestamp": "x"}')), /mooncake line 1/);
  assert.throws(() => readTrace(file('bad2.jsonl', '{"timestamp": 0, "input_length": 2000, "output_length": 1, "hash_ids": [1]}')), /cannot cover/);
  assert.throws(() => readTrace(file('odd.txt', 'hello')), /unknown trace format/);
  assert.throws(() => readTrace(file('empty.csv', '')), /empty/);
  assert.throws(() => readTrace(file('az-bad.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\nnot a date,1,2')), /azure line 2/);
  assert.throws(() => readTrace(file('bad.gz', 'not gzip')), /gunzip/);
});

test('tokenIds(into): the same ids written at the start of a reused buffer, in every format; a buffer too short is left alone', () => {
  const reused = new Uint32Array(8000).fill(7);
  const short = new Uint32Array(2).fill(9);
  const files = [
    file('reuse-mc.jsonl', mooncake),
    file('reuse-az.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,300,20\n2023-11-16 18:15:47.0000000,40,5\n'),
    file('reuse-sg.jsonl', `${JSON.stringify({ input_toks: 3, output_toks: 2, arrival_time_ns: 0, input_tok_ids: [5, 6, 7] })}\n`),
    file('reuse-len.csv', 'num_prefill_tokens,num_decode_tokens\n100,10\n7000,3\n'),
  ];
  for (const path of files) {
    for (const r of readTrace(path, { seed: 1 }).requests) {
      const fresh = r.tokenIds();
      assert.equal(fresh.length, r.promptTokens);
      const view = r.tokenIds(reused);
      assert.equal(view.buffer, reused.buffer, 'a view of the buffer it was given');
      assert.equal(view.byteOffset, 0);
      assert.deepEqual(view, fresh, `${path} ${r.id}`);
      const own = r.tokenIds(short);
      assert.notEqual(own.buffer, short.buffer);
      assert.deepEqual(own, fresh);
      assert.deepEqual([...short], [9, 9]);
    }
  }
});
