// npm run bench:live-signals (node bench/live-signals.ts) — does what the gateway feeds the scheduler change live TTFT?
//
// Four twin PROCESSES with H100 step times (`--timing model`, llama-3.1-8b) and KV events, and
// `inferstack serve --config` in front of them, one gateway at a time, configurations interleaved
// round by round over the same twins:
//   hardware:    inferstack with the pool's `hardware` key (TTFT predicted in seconds) and the
//                gateway's pendingPrefillTokens;
//   no-hardware: the same without `hardware` (the predictor ranks by prompt tokens);
//   before DIR:  with --compare-gateway DIR, another checkout's gateway (e.g. the commit before the
//                pending-prefill work: no pendingPrefillTokens, no hardware key);
//   round-robin: the floor.
// The workload is an open loop (Poisson arrivals): half the requests share one of 6 long documents
// (prefix affinity pays), half carry a unique long prompt; outputs of 32 to 256 tokens keep requests
// decoding while new prompts arrive. Each configuration gets the same arrivals and lengths, with its
// own words (no cache carries over between configurations). Client-side TTFT and E2E per request,
// and the prefix hit rate the twins' own counters saw during each configuration's runs.
// With --twin-tokenizer the twins run a model tokenizer of their own (a word-level tokenizer.json
// with a chat template, generated here) instead of the built-in one, as real engines do, and two
// configurations replace the no-hardware one: inferstack + hardware with the pool's
// `tokenizer: { source: engine }` (the twins' /tokenize), and the same with `tokenizer: builtin`,
// whose token ids match none of the twins' KV events.
// Options: --rounds N (3), --requests N per run (60), --rate R requests/s (8), --seed S,
// --prompt-scale X (multiplies every prompt length; 1: documents of 1,500 words, unique prompts of
// 600 to 2,400),
// --compare-gateway DIR (`git archive <commit> | tar -x -C DIR && ln -s $PWD/node_modules DIR/`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { summarize, type LatencySummary } from '../src/bench/stats.ts';
import { parsePrometheusText } from '../src/engines/prometheus-text.ts';
import { seededRandom, type Random } from '../src/util/seeded-random.ts';
import { writeTinyTokenizer } from '../test/helpers/tiny-tokenizer.ts';
import { benchArgs } from './args.ts';

const { values: args } = benchArgs({ rounds: { type: 'string' }, requests: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' }, 'prompt-scale': { type: 'string' }, 'compare-gateway': { type: 'string' }, 'twin-tokenizer': { type: 'boolean' } });
const ROUNDS = Number(args.rounds ?? 3);
const REQUESTS = Number(args.requests ?? 60);
const RATE = Number(args.rate ?? 8);
const SEED = Number(args.seed ?? 7);
const SCALE = Number(args['prompt-scale'] ?? 1); // multiplies every prompt length
const MODEL = 'llama-3.1-8b';
const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'inferstack-bench-signals-'));
const children: ChildProcess[] = [];

process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** Starts `node <checkout>/bin/inferstack.js ARGS`; resolves with its stdout once `pattern` matches. */
function start(checkout: string, argv: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [join(checkout, 'bin/inferstack.js'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    child.stdout!.on('data', (c) => {
      out += c;
      const m = pattern.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}): ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}assistant :{% endif %}";
const WORDS = 'time person year way day thing man world life hand part child eye woman place work week case point government company number group problem fact'.split(' ');
const words = (random: Random, n: number) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(' ');

interface Shape {
  at: number; // seconds after the run starts
  doc: number; // -1: a unique prompt
  words: number;
  maxTokens: number;
}

/** One round's arrivals and lengths, the same for every configuration. */
function shapes(random: Random): Shape[] {
  let t = 0;
  return Array.from({ length: REQUESTS }, () => {
    t += -Math.log(1 - random()) / RATE;
    const shared = random() < 0.5;
    return { at: t, doc: shared ? Math.floor(random() * 6) : -1, words: Math.round(SCALE * (shared ? 40 : 600 + Math.floor(random() * 1800))), maxTokens: 32 + Math.floor(random() * 225) };
  });
}

/** One streamed request; TTFT at the first content token, E2E at the end. */
async function one(url: string, content: string, maxTokens: number): Promise<{ ttft: number; e2e: number }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: maxTokens, stream: true }),
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  let ttft = -1;
  const decoder = new TextDecoder();
  for await (const chunk of r.body!) {
    // The role chunk carries "content":"" before any token; the first non-empty content is the first token.
    if (ttft < 0 && /"content":"[^"]/.test(decoder.decode(chunk as Uint8Array))) ttft = performance.now() - t0;
  }
  return { ttft: ttft < 0 ? performance.now() - t0 : ttft, e2e: performance.now() - t0 };
}

async function run(url: string, work: Shape[], tag: string, random: Random): Promise<{ ttft: number[]; e2e: number[] }> {
  const docs = Array.from({ length: 6 }, (_, d) => `${tag} document ${d}: ${words(random, Math.round(SCALE * 1500))}`);
  const t0 = performance.now();
  const out = { ttft: [] as number[], e2e: [] as number[] };
  await Promise.all(
    work.map(async (s, i) => {
      const content = s.doc >= 0 ? `${docs[s.doc]}\nQuestion ${i}: ${words(random, s.words)}` : `${tag} request ${i}: ${words(random, s.words)}`;
      const wait = t0 + s.at * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const r = await one(url, content, s.maxTokens);
      out.ttft.push(r.ttft);
      out.e2e.push(r.e2e);
    }),
  );
  return out;
}

// Every word the prompts use, and the template's, is in the generated vocabulary (others would be <unk>).
const tokenizerArgs = args['twin-tokenizer'] ? ['--tokenizer', writeTinyTokenizer(tmp, { extraWords: [...WORDS, 'document', 'request', 'Question'], chatTemplate: TEMPLATE })] : [];
const twins = await Promise.all(
  [0, 1, 2, 3].map(() =>
    start(root, ['twin', '--model', MODEL, '--gpu', 'h100', '--port', '0', '--timing', 'model', '--kv-events', 'tcp://127.0.0.1:*', '--kv-events-replay', 'tcp://127.0.0.1:*', ...tokenizerArgs], /KV events on (tcp:\/\/[^,\s]+), replay on (tcp:\/\/\S+)\n[\s\S]*listening on (http:\/\/\S+)\n/),
  ),
);
const endpoints = twins.map(({ match: m }) => ({ url: m[3]!, engine: 'twin', kvEvents: { endpoint: m[1]!, replayEndpoint: m[2]! } }));

function configFile(name: string, pool: Record<string, unknown>): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({ listeners: [{ host: '127.0.0.1', port: 0 }], logLevel: 'warn', pools: [{ name: 'live', models: [MODEL], endpoints, ...pool }] }));
  return file;
}
const hardware = { model: MODEL, gpu: 'h100' };
const configs: { name: string; checkout: string; file: string }[] = args['twin-tokenizer']
  ? [
      { name: 'inferstack + hardware, tokenizer: engine', checkout: root, file: configFile('tokenizer', { policy: 'inferstack', hardware, tokenizer: { source: 'engine' } }) },
      { name: 'inferstack + hardware, tokenizer: builtin', checkout: root, file: configFile('builtin', { policy: 'inferstack', hardware, tokenizer: { source: 'builtin' } }) },
      { name: 'round-robin', checkout: root, file: configFile('round-robin', { policy: 'round-robin' }) },
    ]
  : [
      { name: 'inferstack + hardware', checkout: root, file: configFile('hardware', { policy: 'inferstack', hardware }) },
      { name: 'inferstack, no hardware', checkout: root, file: configFile('no-hardware', { policy: 'inferstack' }) },
      { name: 'round-robin', checkout: root, file: configFile('round-robin', { policy: 'round-robin' }) },
    ];
const before = args['compare-gateway'];
if (before) {
  const rev = (() => { try { return readFileSync(join(before, '.git-rev'), 'utf8').trim(); } catch { return before; } })();
  configs.splice(2, 0, { name: `inferstack, before (${rev})`, checkout: before, file: configFile('before', { policy: 'inferstack' }) });
}

// One discarded run first: the twins' and the client's code is cold in the first one.
{
  const c = configs.at(-1)!;
  const gw = await start(c.checkout, ['serve', '--config', c.file, '--port', '0'], /listening on (http:\/\/\S+?),?\s/);
  await run(gw.match[1]!, shapes(seededRandom(SEED - 1)).slice(0, Math.ceil(REQUESTS / 4)), 'warm-up', seededRandom(SEED - 1));
  await stop(gw.child);
}

/** The twins' own prefix-cache counters, summed (tokens): what routing made of their caches. */
async function prefixCounters(): Promise<{ hits: number; queries: number }> {
  let hits = 0;
  let queries = 0;
  for (const e of endpoints) {
    for (const s of parsePrometheusText(await (await fetch(`${e.url}/metrics`)).text())) {
      if (s.name === 'vllm:prefix_cache_hits_total') hits += s.value;
      if (s.name === 'vllm:prefix_cache_queries_total') queries += s.value;
    }
  }
  return { hits, queries };
}

const results = new Map<string, { ttft: number[]; e2e: number[]; hits: number; queries: number }>(configs.map((c) => [c.name, { ttft: [], e2e: [], hits: 0, queries: 0 }]));
const load: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const work = shapes(seededRandom(SEED + round));
  // Rotate the order each round so no configuration always runs first (or after the same one).
  const order = configs.map((_, i) => configs[(i + round) % configs.length]!);
  for (const [k, c] of order.entries()) {
    const gw = await start(c.checkout, ['serve', '--config', c.file, '--port', '0'], /listening on (http:\/\/\S+?),?\s/);
    await sleep(300); // first scrapes and KV subscriptions
    const before = await prefixCounters();
    const r = await run(gw.match[1]!, work, `r${round}c${k}`, seededRandom(SEED * 1000 + round * 10 + k));
    await stop(gw.child);
    const after = await prefixCounters();
    const acc = results.get(c.name)!;
    acc.ttft.push(...r.ttft);
    acc.e2e.push(...r.e2e);
    acc.hits += after.hits - before.hits;
    acc.queries += after.queries - before.queries;
    load.push(loadavg()[0]!);
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${c.name}: TTFT p50 ${summarize(r.ttft).p50.toFixed(0)} ms, p90 ${summarize(r.ttft).p90.toFixed(0)} ms\n`);
  }
}
await Promise.all(twins.map((t) => stop(t.child)));

const fmt = (s: LatencySummary) => `${s.mean.toFixed(0)} | ${s.p50.toFixed(0)} | ${s.p90.toFixed(0)} | ${s.p99.toFixed(0)}`;
const base = summarize(results.get(configs[0]!.name)!.ttft);
console.log(`live signals: 4 twins (llama-3.1-8b, h100 step times), ${REQUESTS} requests at ${RATE}/s, prompt scale ${SCALE}, x ${ROUNDS} rounds per configuration, load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
console.log('| configuration | TTFT ms mean | p50 | p90 | p99 | E2E ms mean | p50 | p90 | p99 | TTFT p90 / first row | prefix hit rate (twins\' counters) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const c of configs) {
  const r = results.get(c.name)!;
  const t = summarize(r.ttft);
  console.log(`| ${c.name} | ${fmt(t)} | ${fmt(summarize(r.e2e))} | ${(t.p90 / base.p90).toFixed(2)} | ${((100 * r.hits) / Math.max(1, r.queries)).toFixed(1)} % |`);
}
