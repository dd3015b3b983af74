// Decision cost: time to route one 32k-token prompt across 64 endpoints, for the approximate
// (text, router-learned) and precise (token ids, event-fed) prefix policies. Tokenization and block
// hashing are reported on their own lines (the gateway caches both per prompt, see
// src/kv/tokenization-cache.ts). Indexes are warmed with realistic content first. Timings are
// wall-clock on whatever else the machine is running: read p50 as the cost, p99 as the noise bound.
// A pool tokenizer asking the engine (/tokenize on a twin in this process) is timed last.
//   node bench/decision-cost.ts [--decisions N]
import { summarize } from '../src/bench/stats.ts';
import { PreciseIndex } from '../src/kv/precise-index.ts';
import { TokenizationCache } from '../src/kv/tokenization-cache.ts';
import { resolveDeployment } from '../src/physics/deployment.ts';
import { createScheduler } from '../src/scheduler/index.ts';
import type { EndpointView, SchedulingRequest } from '../src/scheduler/types.ts';
import { createTokenizer } from '../src/tokenizer/index.ts';
import { hashBlocks } from '../src/twin/core/block-hash.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ decisions: { type: 'string' } });
const DECISIONS = Number(values.decisions ?? 1000);
const ENDPOINTS = 64;
const PROMPT_TOKENS = 32_768;
const BS = 16;

const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
function text(seed: number, chars: number): string {
  let s = '';
  let x = seed >>> 0 || 1;
  while (s.length < chars) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += words[x % words.length] + ' ';
  }
  return s.slice(0, chars);
}
const endpoints: EndpointView[] = Array.from({ length: ENDPOINTS }, (_, i) => ({
  id: `e${i}`,
  url: `http://127.0.0.1:${9000 + i}`,
  model: ['m'],
  engineType: 'vllm',
  healthy: true,
  metrics: { waiting: i % 4, running: 10, kvUsage: 0.3 + (i % 5) / 10, blockSize: BS, numGpuBlocks: 30_000, scrapedAt: 0 },
  inflight: { requests: i % 7, promptTokens: 1000 * (i % 7), predictedBlocks: 100 * (i % 7), pendingPrefillTokens: 500 * (i % 3) },
}));
const view = { endpoints };
const system = text(7, 64_000); // a long shared document at the head of every prompt

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}
const fmt = (xs: number[]) => {
  const s = summarize(xs);
  return `p50 ${(s.p50 * 1000).toFixed(0)} us, p99 ${(s.p99 * 1000).toFixed(0)} us`;
};

// Tokenization (built-in tokenizer), cold and through the cache.
const tokenizer = createTokenizer();
const cache = new TokenizationCache();
const prompts = Array.from({ length: 50 }, (_, i) => system + text(100 + i, 64_000));
const tokCold: number[] = [];
const tokWarm: number[] = [];
for (const p of prompts) tokCold.push(time(() => cache.get('m', p, (t) => tokenizer.encode(t)))[1]);
for (const p of prompts) tokWarm.push(time(() => cache.get('m', p, (t) => tokenizer.encode(t)))[1]);
const sampleIds = cache.get('m', prompts[0]!, (t) => tokenizer.encode(t));
console.log(`prompt: ${prompts[0]!.length} chars = ${sampleIds.length} tokens (built-in tokenizer), ${ENDPOINTS} endpoints`);
console.log(`tokenization: cold ${fmt(tokCold)}; cached ${fmt(tokWarm)}`);

// Synthetic 32k-token prompts: a shared head plus a per-request tail.
const head = Array.from({ length: PROMPT_TOKENS / 2 }, (_, i) => (i * 7919) % 32_000);
const idsFor = (seed: number) => [...head, ...Array.from({ length: PROMPT_TOKENS / 2 }, (_, i) => (seed * 104_729 + i * 31) % 32_000)];
const hashTimes: number[] = [];
for (let i = 0; i < 200; i++) {
  const ids = idsFor(i);
  hashTimes.push(time(() => hashBlocks(ids, BS))[1]);
}
console.log(`block hashing (${PROMPT_TOKENS / BS} blocks of ${BS}): ${fmt(hashTimes)}`);

function measure(policy: string, makeRequest: (i: number) => SchedulingRequest, options: Parameters<typeof createScheduler>[1]) {
  const s = createScheduler(policy, { ...options, saturation: null });
  // 100 decisions per virtual second, metrics fresh: speculative entries expire as they would live.
  let now = 0;
  const at = () => {
    now += 0.01;
    for (const e of endpoints) e.metrics.scrapedAt = now;
    return now;
  };
  for (let i = 0; i < 200; i++) s.schedule(makeRequest(1_000_000 + i), view, at()); // warm up the JIT and the index
  // `makeRequest` must be cheap: the collection of its garbage (until session 11 a 64k-character
  // text per request) can land in a timed decision.
  const times: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const req = makeRequest(i);
    const t = at();
    times.push(time(() => s.schedule(req, view, t))[1]);
  }
  return times;
}

// Approximate (llm-d): text prompts, index learned from its own decisions (at most 256 blocks, so
// 16k characters, all inside the shared document). Each request joins the document and one of 100
// tails anew, as a rendered chat prompt is joined, so flattening it is part of the decision.
const tails = Array.from({ length: 100 }, (_, i) => JSON.parse(JSON.stringify(text(i, 64_000))) as string);
const approxTimes = measure('llm-d', (i) => ({ id: `a${i}`, model: 'm', promptText: system + tails[i % tails.length]!, promptTokens: PROMPT_TOKENS }), {});
console.log(`approximate decision (llm-d, text, 64 endpoints): ${fmt(approxTimes)}`);

// Precise (llm-d-precise): token ids; the index holds, for each endpoint, 8 prompts via events.
const index = new PreciseIndex();
for (let e = 0; e < ENDPOINTS; e++) {
  for (let k = 0; k < 8; k++) {
    const ids = idsFor(e * 8 + k);
    const keys = hashBlocks(ids, BS);
    index.applyEvent(`e${e}`, { type: 'BlockStored', blockHashes: keys.map((x) => x ^ 0xabcdefn), parentBlockHash: null, tokenIds: ids, blockSize: BS });
  }
}
// 512 distinct requests, each sharing the 16k-token head with what the endpoints hold.
const requestIds = Array.from({ length: 512 }, (_, i) => idsFor(10_000 + i));
const requestKeys = requestIds.map((ids) => hashBlocks(ids, BS));
const preciseReq = (i: number): SchedulingRequest => ({ id: `p${i}`, model: 'm', promptTokenIds: requestIds[i % requestIds.length]!, promptTokens: PROMPT_TOKENS });
// As the gateway sends it after a tokenization-cache hit: block keys cached with the token ids.
const preciseReqKeyed = (i: number): SchedulingRequest => ({ ...preciseReq(i), promptBlockKeys: { blockSize: BS, keys: requestKeys[i % requestKeys.length]! } });
console.log(`precise index: ${index.size()} blocks over ${ENDPOINTS} endpoints`);
console.log(`precise decision (llm-d-precise, keys cached with the tokenization): ${fmt(measure('llm-d-precise', preciseReqKeyed, { preciseIndex: index }))}`);
console.log(`precise decision (llm-d-precise, hashing the ${PROMPT_TOKENS / BS} blocks itself): ${fmt(measure('llm-d-precise', preciseReq, { preciseIndex: index }))}`);
const stepTime = resolveDeployment({ model: 'llama-3.1-8b', gpu: 'h100' }).stepTime;
console.log(`inferstack decision (precise + TTFT prediction, keys cached): ${fmt(measure('inferstack', preciseReqKeyed, { preciseIndex: index, stepTime }))}`);

// A pool tokenizer with `source: engine` (src/gateway/prompt-tokenizer.ts): vLLM's /tokenize on a
// twin in this process (instant timing, the built-in tokenizer), so the cost is the engine's own
// tokenization plus one loopback HTTP round trip and the JSON of the ids; then through the cache.
const { startTwinServer } = await import('../src/twin/server/index.ts');
const { EndpointRuntime } = await import('../src/engines/endpoint.ts');
const { PromptTokenizer } = await import('../src/gateway/prompt-tokenizer.ts');
const { silentLogger } = await import('../src/gateway/logger.ts');
const twin = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'instant', log: () => {} });
const engine = new EndpointRuntime({ url: twin.url, engineType: 'twin', models: [twin.modelName] });
const poolTokenizer = new PromptTokenizer({ poolName: 'bench', source: { engines: [engine], timeoutMs: 10_000 }, logger: silentLogger() });
const askEngine = async (p: string) => {
  const t0 = performance.now();
  const r = await poolTokenizer.tokenize('completions', twin.modelName, { prompt: p });
  if (!r) throw new Error('the twin did not tokenize');
  return performance.now() - t0;
};
for (let i = 0; i < 10; i++) await askEngine(text(5_000 + i, 128_000)); // warm up the connection and the JIT
const engineCold: number[] = [];
const engineCached: number[] = [];
for (const p of prompts) engineCold.push(await askEngine(p));
for (const p of prompts) engineCached.push(await askEngine(p));
console.log(`pool tokenizer, source engine (/tokenize round trip, ${prompts[0]!.length} chars): cold ${fmt(engineCold)}; cached ${fmt(engineCached)}`);
await engine.close();
await twin.close();
