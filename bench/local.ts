// npm run bench:local [-- --tokens 64 --rounds 11 --threads 1 --embd 512 --layers 8]
// The embedded llama.cpp engine on a generated random model (nothing downloaded), CPU only:
// 1. Overhead: output tokens/s for one request at a time, measured alternately in the same rounds
//    (a) node-llama-cpp called directly (sequence.evaluate, same sampling settings), (b) through the
//    local engine's HTTP server (streaming), (c) through the gateway in front of it, which reaches
//    the engine in-process (src/engines/in-process.ts: no HTTP hop between gateway and engine).
//    Reported as ratios to (a); target >= 0.95 (overhead <= 5 %).
// 2. Cold start: a fresh server's first request (GGUF validation + model load + context creation).
// 3. Aggregate output tokens/s with 1..4 concurrent requests on 4 parallel sequences of one context.
// 4. CPU per /metrics render (the gateway scrapes every 50 ms): cached event text vs rendering all.
// The machine is shared and noisy, so every number comes with its CPU-time twin: output tokens per
// CPU-second of this whole process (llama.cpp threads, server, gateway and client together), which
// other processes' load does not change.
// Prompts differ per request so no run benefits from a cached prefix. ignore_eos keeps every
// request at exactly --tokens output tokens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { request as httpRequest } from 'node:http';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TokenBias, type Token } from 'node-llama-cpp';
import { writeTinyLlama } from '../src/engines/local/tiny-model.ts';
import { getLlamaRuntime } from '../src/engines/local/llama-runtime.ts';
import { startLocalEngineServer } from '../src/engines/local/index.ts';
import { LocalEngineMetrics } from '../src/engines/local/metrics.ts';
import { validateGgufFile } from '../src/trust/gguf.ts';
import { validateConfig } from '../src/gateway/config.ts';
import { startGateway } from '../src/gateway/server.ts';
import { silentLogger } from '../src/gateway/logger.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({
  tokens: { type: 'string', default: '64' },
  rounds: { type: 'string', default: '11' },
  threads: { type: 'string', default: '1' },
  embd: { type: 'string', default: '512' },
  layers: { type: 'string', default: '8' },
  client: { type: 'boolean', default: false }, // internal: run as the child-process HTTP client
});
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const THREADS = Number(values.threads);
const CONTEXT = 512;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, d = 1) => x.toFixed(d);
interface Sample {
  /** output tokens per wall-second */
  wall: number;
  /** output tokens per CPU-second of this process (all threads) */
  cpu: number;
  /** CPU of the main thread (where the server, gateway and relay run) per token, us */
  mainUs: number;
  /** CPU of every other thread (llama.cpp's decode threads, GC helpers) per token, us */
  otherUs: number;
}
/** Runs fn; returns its rates, and its CPU split between the main thread and the rest. */
async function measure(tokens: number, fn: () => Promise<unknown>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const m0 = process.threadCpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  const m = process.threadCpuUsage(m0);
  const total = c.user + c.system;
  const main = m.user + m.system;
  return { wall: tokens / ((performance.now() - t0) / 1000), cpu: tokens / (total / 1e6), mainUs: main / tokens, otherUs: (total - main) / tokens };
}
let promptCounter = 0;
/** A fresh prompt each time: a leading counter defeats prefix reuse. */
const nextPrompt = () => `${++promptCounter} the benchmark prompt asks for some text about inference engines`;

/** Streams one completion with node:http (lighter per chunk than fetch); checks every token came back. */
function streamCompletion(base: string, body: string, tokens: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const usage = text.split('\n\n').map((e) => e.slice(6)).filter((d) => d.startsWith('{')).map((d) => JSON.parse(d)).find((c) => c.usage)?.usage;
        if (res.statusCode !== 200 || usage?.completion_tokens !== tokens) reject(new Error(`${base}: HTTP ${res.statusCode}, usage ${JSON.stringify(usage)}: ${text.slice(0, 300)}`));
        else resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The child-process client: the parent sends {base, body, tokens}, it answers with the request's
// outcome and its own CPU time, so the parent's CPU counts only the engine and the gateway.
interface ClientJob { base: string; body: string; tokens: number }
interface ClientReply { error?: string; cpuUs: number }
if (values.client) {
  process.on('message', (job: ClientJob) => {
    const c0 = process.cpuUsage();
    streamCompletion(job.base, job.body, job.tokens).then(
      () => process.send!({ cpuUs: cpuUs(process.cpuUsage(c0)) } satisfies ClientReply),
      (err: Error) => process.send!({ error: err.message, cpuUs: 0 } satisfies ClientReply),
    );
  });
  await new Promise((resolve) => process.once('disconnect', resolve));
  process.exit(0);
}
function cpuUs(c: NodeJS.CpuUsage): number {
  return c.user + c.system;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-local-'));
const path = join(dir, 'bench.gguf');
const info = await writeTinyLlama(path, { nEmbd: Number(values.embd), nLayer: Number(values.layers), nHead: 8, nFf: Number(values.embd) * 2, weightType: 'F16', contextLength: 2048, merges: 400 });
const sampling = { temperature: 1, topP: 1, topK: 0, seed: 1 };

const loadAtStart = loadavg();
try {
  console.log(`model: random llama, n_embd ${info.nEmbd}, ${info.nLayer} layers, vocab ${info.vocabSize}, F16; ${THREADS} thread(s); ${TOKENS} output tokens per request; CPU only`);

  // ---- (a) node-llama-cpp directly ----
  const llama = await getLlamaRuntime();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({ sequences: 1, contextSize: CONTEXT, threads: THREADS });
  const sequence = context.getSequence();
  const noEog = new TokenBias(model.tokenizer);
  const biasMap = (noEog as unknown as { _biases: Map<Token, number> })._biases; // same as the engine's ignore_eos
  for (const t of model.iterateAllTokens()) if (model.isEogToken(t)) biasMap.set(t, Number.NEGATIVE_INFINITY);
  async function direct(): Promise<void> {
    await sequence.clearHistory();
    const prompt = model.tokenize(nextPrompt());
    let n = 0;
    for await (const token of sequence.evaluate(prompt, { ...sampling, tokenBias: noEog })) {
      model.detokenize([token]); // the server turns tokens into text too
      if (++n >= TOKENS) break;
    }
  }

  // ---- (b) the local engine's HTTP server, (c) the gateway in front of it ----
  const server = await startLocalEngineServer({ models: [{ name: 'bench', path }], parallelSequences: 1, contextSize: CONTEXT, threads: THREADS });
  const gateway = await startGateway({
    config: validateConfig({ listeners: [{ host: '127.0.0.1', port: 0 }], logLevel: 'error', pools: [{ name: 'local', models: ['bench'], endpoints: [{ url: server.url, engine: 'local' }] }] }),
    logger: silentLogger(),
  });
  const body = () => JSON.stringify({ model: 'bench', prompt: nextPrompt(), max_tokens: TOKENS, ignore_eos: true, stream: true, stream_options: { include_usage: true }, temperature: 1, top_p: 1, seed: 1 });
  // Client in this process: its HTTP parsing counts in this process's CPU (direct has no client).
  const viaHttp = (base: string) => streamCompletion(base, body(), TOKENS);
  // Client in a child process: this process's CPU is the engine's and the gateway's alone.
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let childCpuUs = 0;
  const viaChild = (base: string) =>
    new Promise<void>((resolve, reject) => {
      child.once('message', (r: ClientReply) => {
        childCpuUs += r.cpuUs;
        if (r.error) reject(new Error(r.error));
        else resolve();
      });
      child.send({ base, body: body(), tokens: TOKENS } satisfies ClientJob);
    });
  await direct(); // warm-up: loads weights into cache, first-call costs
  for (const base of [server.url, gateway.url]) {
    await viaHttp(base);
    await viaChild(base);
  }
  const paths = [
    ['node-llama-cpp directly', 'direct', direct],
    ['local engine HTTP server, client in a child process', 'server', () => viaChild(server.url)],
    ['gateway -> local engine (in-process), client in a child process', 'gateway', () => viaChild(gateway.url)],
    ['gateway -> local engine (in-process), client in this process', 'gatewaySameProcess', () => viaHttp(gateway.url)],
  ] as const;
  const rows: Record<(typeof paths)[number][1], Sample[]> = { direct: [], server: [], gateway: [], gatewaySameProcess: [] };
  childCpuUs = 0;
  for (let i = 0; i < ROUNDS; i++) {
    for (const [, k, fn] of paths) rows[k].push(await measure(TOKENS, fn));
  }
  const clientUsPerToken = childCpuUs / (2 * ROUNDS * TOKENS);
  child.disconnect();
  const wall = (k: keyof typeof rows) => median(rows[k].map((r) => r.wall));
  const cpu = (k: keyof typeof rows) => median(rows[k].map((r) => r.cpu));
  // Each round's ratio to the direct run of the same round: slow drifts in machine load cancel.
  const paired = (k: keyof typeof rows, m: 'wall' | 'cpu') => median(rows[k].map((r, i) => r[m] / rows.direct[i]![m]));
  console.log(`\n## 1. Overhead, one request at a time (median of ${ROUNDS} alternating rounds)\n`);
  console.log('| path | output tokens/s (wall) | ratio | per-round ratio (median) | output tokens per CPU-second | ratio | per-round ratio (median) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, k] of paths) {
    console.log(`| ${label} | ${fmt(wall(k))} | ${fmt(wall(k) / wall('direct'), 3)} | ${fmt(paired(k, 'wall'), 3)} | ${fmt(cpu(k))} | ${fmt(cpu(k) / cpu('direct'), 3)} | ${fmt(paired(k, 'cpu'), 3)} |`);
  }
  for (const [, k] of paths) console.log(`(${k} per round, wall: ${rows[k].map((x) => fmt(x.wall)).join(' ')}; per CPU-second: ${rows[k].map((x) => fmt(x.cpu)).join(' ')})`);
  console.log(`(the child-process client used ${fmt(clientUsPerToken)} us of CPU per token; gateway endpoint in-process: ${gateway.state().pools[0]!.endpoints[0]!.upstream.inProcess ? 'yes' : 'no'})`);
  // The main thread runs everything the paths add (servers, gateway, relay; the client in the last
  // row); the other threads run llama.cpp's decode, the same work on every path but the noisiest
  // number under load. The added main-thread CPU is the overhead with that noise left out.
  const us = (k: keyof typeof rows, m: 'mainUs' | 'otherUs') => median(rows[k].map((r) => r[m]));
  const directUs = us('direct', 'mainUs') + us('direct', 'otherUs');
  console.log(`\nCPU per output token (medians): main thread vs other threads; the main-thread CPU a path adds over direct, as a share of direct's whole CPU per token\n`);
  console.log('| path | main thread (us/token) | other threads (us/token) | added main-thread CPU | implied ratio to direct |');
  console.log('|---|---|---|---|---|');
  for (const [label, k] of paths) {
    const added = (us(k, 'mainUs') - us('direct', 'mainUs')) / directUs;
    console.log(`| ${label} | ${fmt(us(k, 'mainUs'))} | ${fmt(us(k, 'otherUs'))} | ${fmt(added * 100, 1)} % | ${fmt(1 / (1 + added), 3)} |`);
  }
  console.log(`(load average at the start ${loadAtStart.map((x) => fmt(x, 2)).join(' ')}, now ${loadavg().map((x) => fmt(x, 2)).join(' ')})`);
  await gateway.close();
  await server.close();
  await context.dispose();
  await model.dispose();

  // ---- 2. cold start ----
  const validations: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await validateGgufFile(path);
    validations.push(performance.now() - t0);
  }
  const colds: number[] = [];
  const firsts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await startLocalEngineServer({ models: [{ name: 'bench', path }], parallelSequences: 4, contextSize: CONTEXT, threads: THREADS });
    const t0 = performance.now();
    const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench', prompt: nextPrompt(), max_tokens: 1 }) });
    await r.text();
    firsts.push(performance.now() - t0);
    const m = (await (await fetch(`${s.url}/metrics`)).text()).match(/inferstack_local_model_cold_start_seconds_sum\{model_name="bench"\} ([\d.e-]+)/);
    colds.push(Number(m?.[1]) * 1000);
    await s.close();
  }
  console.log(`\n## 2. Cold start (3 fresh servers, 4 sequences x ${CONTEXT} tokens)\n`);
  console.log(`- GGUF validation alone: median ${fmt(median(validations), 2)} ms`);
  console.log(`- cold start metric (validate + load + context): median ${fmt(median(colds))} ms (${colds.map((x) => fmt(x)).join(', ')})`);
  console.log(`- first request end to end (1 output token): median ${fmt(median(firsts))} ms`);

  // ---- 3. parallel sequences ----
  const par = await startLocalEngineServer({ models: [{ name: 'bench', path }], parallelSequences: 4, contextSize: CONTEXT, threads: THREADS });
  await viaHttp(par.url);
  console.log(`\n## 3. Aggregate throughput, k concurrent requests on 4 parallel sequences (median of ${ROUNDS})\n`);
  console.log('| concurrent requests | aggregate output tokens/s (wall) | per request | speed-up vs 1 | tokens per CPU-second | speed-up vs 1 |');
  console.log('|---|---|---|---|---|---|');
  let base = { wall: 0, cpu: 0 };
  for (let k = 1; k <= 4; k++) {
    const samples: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) samples.push(await measure(k * TOKENS, () => Promise.all(Array.from({ length: k }, () => viaHttp(par.url)))));
    const agg = { wall: median(samples.map((x) => x.wall)), cpu: median(samples.map((x) => x.cpu)) };
    if (k === 1) base = agg;
    console.log(`| ${k} | ${fmt(agg.wall)} | ${fmt(agg.wall / k)} | ${fmt(agg.wall / base.wall, 2)} | ${fmt(agg.cpu)} | ${fmt(agg.cpu / base.cpu, 2)} |`);
  }
  await par.close();

  // ---- 4. /metrics rendering ----
  // Four models with histograms filled by 200 requests each: what a busy engine renders per scrape.
  const names = ['a', 'b', 'c', 'd'];
  const stats = { waiting: 0, running: 1, slots: 4, kvUsedTokens: 100, kvCachedTokens: 50, kvCapacityTokens: 2048 };
  const pm = new LocalEngineMetrics(() => names.map((name) => ({ name, state: 'loaded' as const, estimateBytes: 1e8, stats })), () => 0);
  for (const name of names) {
    for (let i = 0; i < 200; i++) {
      pm.observeRequest(name, { text: '', finishReason: 'length', promptTokens: 20, completionTokens: 64, cachedTokens: 0, queueSeconds: i / 1e4, ttftSeconds: i / 1e3, e2eSeconds: i / 100 });
    }
  }
  const renders = 2000;
  const cpuPerRender = async (render: () => Promise<unknown>) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < renders; i++) await render();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / renders;
  };
  const all: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < 3; i++) {
    all.push(await cpuPerRender(() => Promise.all([pm.registry.metrics(), pm.eventRegistry.metrics()])));
    cached.push(await cpuPerRender(() => pm.text()));
  }
  console.log(`\n## 4. /metrics render CPU (4 loaded models, ${renders} renders, median of 3 interleaved)\n`);
  console.log(`- everything rendered each scrape: ${fmt(median(all) * 1000, 0)} us`);
  console.log(`- gauges rendered, counters and histograms cached until an event: ${fmt(median(cached) * 1000, 0)} us (${fmt(median(all) / median(cached), 1)}x less)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
