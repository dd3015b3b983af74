// `inferstack sim --trace`: the --json shape and one-line errors, through the real CLI entry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeConversationTrace } from './fixtures.ts';

const { path, dir } = writeConversationTrace({ conversations: 5, turns: 3, gapMs: 200 });
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, ['src/cli/main.ts', 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });
const base = ['--trace', path, '--replicas', '3', '--model', 'llama-3.1-8b', '--gpu', 'h100'];

test('--compare --json prints an object keyed by policy with exactly the documented keys', () => {
  const r = cli(...base, '--compare', 'round-robin,inferstack', '--json', '--jobs', '2');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['round-robin', 'inferstack']);
  for (const rep of Object.values(out) as Record<string, unknown>[]) {
    assert.deepEqual(Object.keys(rep).sort(), ['ceiling_hit_rate', 'e2e_ms', 'itl_ms', 'prefix_hit_rate', 'shed', 'throughput_tok_s', 'ttft_ms']);
    for (const k of ['ttft_ms', 'itl_ms', 'e2e_ms']) assert.deepEqual(Object.keys(rep[k] as object), ['mean', 'p50', 'p90', 'p99']);
    assert.ok((rep.ceiling_hit_rate as number) > 0.3);
  }
  assert.equal(r.stderr.includes('#'), false, 'no progress bar when stderr is not a terminal');
});

test('the table names the run as simulated', () => {
  const r = cli(...base, '--policy', 'llm-d', '--pd', '1:2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^simulated: .* P\/D 1:2/);
  assert.match(r.stdout, /llm-d/);
  assert.doesNotMatch(r.stdout, /against the lowest/, 'one policy: nothing to compare');
  assert.doesNotMatch(r.stdout, /KV demand/, 'under P/D the KV lives on two sides: no single capacity to compare with');
});

test('--compare as a table: every other policy\'s p90 against the lowest, with its interval', () => {
  const r = cli(...base, '--compare', 'round-robin,least-load,inferstack', '--rate-scale', '20');
  assert.equal(r.status, 0, r.stderr);
  const head = /p90 TTFT against the lowest \((\S+), (\d+) ms\)/.exec(r.stdout);
  assert.ok(head, r.stdout);
  const others = [...r.stdout.matchAll(/^ {2}(\S+): (-?[\d.]+)% higher \(95 % interval (-?[\d.]+)% to (-?[\d.]+)%\)$/gm)];
  assert.deepEqual(others.map((m) => m[1]).sort(), ['inferstack', 'least-load', 'round-robin'].filter((p) => p !== head[1]).sort());
  for (const [, , higher, lo, hi] of others) {
    assert.ok(Number(higher) >= 0, 'the lowest is the lowest');
    assert.ok(Number(lo) <= Number(higher) && Number(higher) <= Number(hi), `${lo} <= ${higher} <= ${hi}`);
  }
  // Only inferstack predicts TTFT, and its predictions are checked on every request it routed.
  const checks = [...r.stdout.matchAll(/^(\S+)'s TTFT prediction .*, (\d+) requests: median \|error\| (\d+) ms/gm)];
  assert.deepEqual(checks.map((m) => m[1]), ['inferstack']);
  assert.ok(Number(checks[0]![2]) > 0);
  // The trace's KV demand against the cluster's: 15 short conversations hold a sliver of 3 replicas' KV.
  const demand = /^KV demand \(fluid estimate: .*\): peaks at (\d+\.\d+)x the cluster's KV, \d+ s in$/m.exec(r.stdout);
  assert.ok(demand, r.stdout);
  assert.ok(Number(demand[1]) > 0 && Number(demand[1]) < 0.5, demand[0]);
});

test('--queue-size 0 sheds at once when saturated; the default queue and --no-shed do not shed this overload', () => {
  const overload = ['--trace', path, '--replicas', '1', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--policy', 'least-load', '--rate-scale', '40', '--json'];
  const shed = JSON.parse(cli(...overload, '--queue-size', '0').stdout)['least-load'];
  const queued = JSON.parse(cli(...overload).stdout)['least-load'];
  const open = JSON.parse(cli(...overload, '--no-shed').stdout)['least-load'];
  assert.ok(shed.shed > 0, `shed ${shed.shed}`);
  assert.equal(queued.shed, 0);
  assert.equal(open.shed, 0);
  // llm-d's KV 0.8 gate saturates sooner than the default (a full cache), so it sheds more.
  const llmdGate = JSON.parse(cli(...overload, '--queue-size', '0', '--saturation', '5:0.8').stdout)['least-load'];
  assert.ok(llmdGate.shed >= shed.shed, `5:0.8 shed ${llmdGate.shed} vs ${shed.shed}`);
  const impatient = JSON.parse(cli(...overload, '--queue-timeout-ms', '1').stdout)['least-load'];
  assert.ok(impatient.shed > 0, `a 1 ms queue timeout sheds (${impatient.shed})`);
});

test('--no-async-scheduling: the twins take an arrival into the next step, so first tokens come sooner', () => {
  const args = ['--trace', path, '--replicas', '1', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--policy', 'round-robin', '--rate-scale', '5', '--json'];
  const asyncRun = JSON.parse(cli(...args).stdout)['round-robin'];
  const syncRun = JSON.parse(cli(...args, '--no-async-scheduling').stdout)['round-robin'];
  assert.ok(asyncRun.ttft_ms.mean > syncRun.ttft_ms.mean, `async ${asyncRun.ttft_ms.mean} vs sync ${syncRun.ttft_ms.mean}`);
});

test('bad input: one line on stderr and exit 2', () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'what,is,this\n1,2,3\n');
  for (const args of [
    [...base, '--policy', 'nope'],
    ['--trace', path, '--replicas', '0', '--model', 'llama-3.1-8b', '--gpu', 'h100'],
    [...base, '--pd', '3'],
    ['--trace', bad, '--replicas', '2', '--model', 'llama-3.1-8b', '--gpu', 'h100'],
    ['--trace', join(dir, 'missing.jsonl'), '--replicas', '2', '--model', 'llama-3.1-8b', '--gpu', 'h100'],
    [...base.slice(0, 6), '--gpu', 'no-such-gpu'],
    [...base, '--rate-scale=-1'],
    [...base, '--queue-size', '-1'],
    [...base, '--queue-timeout-ms', '0'],
    [...base, '--saturation', '5'],
    [...base, '--saturation', '5:1.5'],
    [...base, '--redraw-arrivals'], // a Mooncake trace's arrivals are real timestamps, not a Poisson draw
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')} -> ${r.status} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^inferstack: /);
  }
});

test('--hardware-file: the replicas run on an accelerator the file adds, in the worker threads too', () => {
  const file = join(import.meta.dirname, '../../../bench/data/workstation-gpus.yaml');
  const args = ['--trace', path, '--replicas', '2', '--model', 'llama-3.1-8b', '--gpu', 'rtx4090'];
  const r = cli(...args, '--hardware-file', file, '--compare', 'round-robin,inferstack', '--jobs', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^simulated: .* on 2 x llama-3\.1-8b \/ rtx4090/);
  const missing = cli(...args, '--hardware-file', join(dir, 'no-such.yaml'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read hardware file/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
});
