// Benchmark of the realtime twin server (not a test: run it by hand, numbers go to docs/twin-server.md).
//   npm run bench:twin-server
// 1. timing fidelity: with --timing model, client-measured TTFT and ITL against the step-time model;
// 2. HTTP overhead: tokens/s of the same workload through the driver directly, HTTP JSON and HTTP SSE,
//    side by side in one run (instant timing, so the engine itself costs ~nothing);
// 3. startup cost of the 4 embedded twins `npm start` runs;
// 4. KV events: publish -> subscribe rate and a full 10,000-batch replay.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import * as zmq from 'zeromq';
import { parsePrometheusText } from '../src/engines/prometheus-text.ts';
import { resolveDeployment } from '../src/physics/deployment.ts';
import { createKvEventPublisher, subscribeKvEvents, type EventBatch } from '../src/kv/events/index.ts';
import { decodeSeq, encodeSeq } from '../src/kv/events/wire.ts';
import { createTwinCore } from '../src/twin/core/engine.ts';
import { createRealtimeTwin } from '../src/twin/realtime.ts';
import { createTokenizer } from '../src/tokenizer/index.ts';
import { startTwinServer } from '../src/twin/server/index.ts';
import { benchArgs } from './args.ts';

benchArgs({}); // no options: refuse any flag rather than ignore it

const MODEL = 'llama-3.1-8b';
const quiet = () => {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The twin's own TTFT histogram (arrival at the server -> first token), sum and count. */
async function serverTtft(url: string): Promise<{ sum: number; count: number }> {
  const samples = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  const get = (name: string) => samples.find((s) => s.name === name)!.value;
  return { sum: get('vllm:time_to_first_token_seconds_sum'), count: get('vllm:time_to_first_token_seconds_count') };
}

async function timingFidelity(): Promise<void> {
  const twin = await startTwinServer({ model: MODEL, gpu: 'h100', timing: 'model', log: quiet });
  const client = new OpenAI({ baseURL: `${twin.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const dep = resolveDeployment({ model: MODEL, gpu: 'h100' });
  const tokenizer = createTokenizer();
  try {
    await client.completions.create({ model: MODEL, prompt: 'warm-up', max_tokens: 8 });
    for (const isl of [256, 2048, 8192]) {
      const ttfts: number[] = [];
      const itls: number[] = [];
      let promptTokens = 0;
      const before = await serverTtft(twin.url);
      for (let rep = 0; rep < 5; rep++) {
        // A different prompt each time, so nothing comes from the prefix cache.
        const prompt = `run ${rep} ${isl} `.padEnd(20, '.') + ' lorem'.repeat(isl);
        const ids = tokenizer.encode(prompt).slice(0, isl);
        promptTokens = ids.length;
        const t0 = performance.now();
        let last = 0;
        const stream = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 64, stream: true, ignore_eos: true } as never);
        for await (const c of stream as unknown as AsyncIterable<{ choices: Array<{ text: string }> }>) {
          if (!c.choices[0]?.text) continue;
          const t = performance.now();
          if (last === 0) ttfts.push((t - t0) / 1000);
          else itls.push((t - last) / 1000);
          last = t;
        }
      }
      const after = await serverTtft(twin.url);
      const serverMean = (after.sum - before.sum) / (after.count - before.count);
      const predTtft = dep.stepTime.stepSeconds({ prefill: [{ tokens: promptTokens, cachedContext: 0 }], decode: [] });
      const predItl = dep.stepTime.stepSeconds({ prefill: [], decode: [{ contextLength: promptTokens + 32 }] });
      console.log(`timing isl=${promptTokens} osl=64: TTFT measured ${(median(ttfts) * 1e3).toFixed(2)} ms vs model ${(predTtft * 1e3).toFixed(2)} ms (ratio ${(median(ttfts) / predTtft).toFixed(3)}), server-side mean ${(serverMean * 1e3).toFixed(2)} ms (ratio ${(serverMean / predTtft).toFixed(3)}); ` +
        `ITL measured ${(median(itls) * 1e3).toFixed(2)} ms vs model ${(predItl * 1e3).toFixed(2)} ms (ratio ${(median(itls) / predItl).toFixed(3)})`);
    }
  } finally {
    await twin.close();
  }
}

const REQUESTS = 1000;
const CONCURRENCY = 32;
const OSL = 32;

async function closedLoop(run: (i: number) => Promise<number>): Promise<{ seconds: number; tokens: number }> {
  let next = 0;
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) {
      const n = await run(next++); // not `tokens += await ...`: that reads `tokens` before the await
      tokens += n;
    }
  }));
  return { seconds: (performance.now() - t0) / 1000, tokens };
}

async function httpOverhead(): Promise<void> {
  const dep = resolveDeployment({ model: MODEL, gpu: 'h100' });
  const tokenizer = createTokenizer();
  const prompt = (i: number) => `request ${i}: a short prompt for the overhead benchmark`;

  // A: the realtime driver with no HTTP at all.
  const core = createTwinCore({ stepTime: dep.stepTime, numGpuBlocks: dep.kv.numGpuBlocks, fillerTokenIds: tokenizer.fillerTokenIds, vocabSize: tokenizer.vocabSize });
  const driver = createRealtimeTwin({ core, timing: 'instant' });
  const direct = await closedLoop((i) => new Promise((resolve) => {
    let n = 0;
    driver.add({ id: `d${i}`, promptTokenIds: tokenizer.encode(prompt(i)), maxTokens: OSL }, {
      onToken: (id) => { tokenizer.decode([id]); n++; },
      onFinish: () => resolve(n),
    });
  }));
  driver.close();

  const twin = await startTwinServer({ model: MODEL, gpu: 'h100', timing: 'instant', log: quiet });
  // A plain keep-alive client: the openai SDK's own per-request cost would dominate what we measure.
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const call = (i: number, stream: boolean) => new Promise<number>((resolve, reject) => {
    const req = request(`${twin.url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve(stream ? text.split('"text":"').length - 2 : JSON.parse(text).usage.completion_tokens));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: MODEL, prompt: prompt(i), max_tokens: OSL, stream }));
  });
  try {
    await closedLoop((i) => call(i, false)); // warm-up (JIT, connections)
    await closedLoop((i) => call(i, true));
    const json = await closedLoop((i) => call(i, false));
    const sse = await closedLoop((i) => call(i, true));
    const rate = (r: { seconds: number; tokens: number }) => r.tokens / r.seconds;
    console.log(`overhead (${REQUESTS} requests, concurrency ${CONCURRENCY}, ${OSL} tokens each, instant timing, client in the same process):`);
    console.log(`  driver only   ${rate(direct).toFixed(0)} tok/s  ${(REQUESTS / direct.seconds).toFixed(0)} req/s`);
    console.log(`  HTTP JSON     ${rate(json).toFixed(0)} tok/s  ${(REQUESTS / json.seconds).toFixed(0)} req/s  (ratio to driver ${(rate(json) / rate(direct)).toFixed(3)})`);
    console.log(`  HTTP SSE      ${rate(sse).toFixed(0)} tok/s  ${(REQUESTS / sse.seconds).toFixed(0)} req/s  (ratio to driver ${(rate(sse) / rate(direct)).toFixed(3)})`);
  } finally {
    agent.destroy();
    await twin.close();
  }
}

async function startupCost(): Promise<void> {
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const twins = await Promise.all(Array.from({ length: 4 }, () => startTwinServer({ model: MODEL, gpu: 'h100', log: quiet })));
  const ms = performance.now() - t0;
  const heap = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const t1 = performance.now();
  await Promise.all(twins.map((t) => t.close()));
  console.log(`startup: 4 twins (llama-3.1-8b on h100) started in ${ms.toFixed(1)} ms, closed in ${(performance.now() - t1).toFixed(1)} ms, heap +${heap.toFixed(1)} MiB`);
}

async function kvEvents(): Promise<void> {
  const pub = await createKvEventPublisher({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', encoding: 'map' });
  const batch = (i: number): EventBatch => ({
    ts: i,
    events: [{ type: 'BlockStored', blockHashes: [BigInt(i) * 2n + 1n, BigInt(i) * 2n + 2n], parentBlockHash: BigInt(i), tokenIds: Array.from({ length: 32 }, (_, k) => k), blockSize: 16 }],
  });
  let received = 0;
  const sub = subscribeKvEvents({ endpoint: pub.endpoint, onBatch: () => { received++; } });
  try {
    while (received === 0) {
      pub.publish(batch(0));
      await new Promise((r) => setTimeout(r, 20));
    }
    const N = 10_000;
    const start = received;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) pub.publish(batch(i));
    while (received < start + N && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 1));
    const s = (performance.now() - t0) / 1000;
    console.log(`kv events: ${received - start} of ${N} batches (2 blocks each, map encoding) published and decoded in ${(s * 1e3).toFixed(0)} ms = ${((received - start) / s).toFixed(0)} batches/s`);
    // Replay of the whole ring (10,000 batches, vLLM's buffer_steps), as a subscriber after a long gap asks for it.
    const dealer = new zmq.Dealer({ receiveTimeout: 10_000, linger: 0 });
    try {
      dealer.connect(pub.replayEndpoint!);
      const t1 = performance.now();
      await dealer.send([Buffer.alloc(0), encodeSeq(0n)]);
      let n = 0;
      for (;;) {
        const [, seq] = await dealer.receive();
        if (decodeSeq(seq!) === -1n) break;
        n++;
      }
      console.log(`kv events: replay of ${n} buffered batches took ${(performance.now() - t1).toFixed(0)} ms`);
    } finally {
      dealer.close();
    }
  } finally {
    await sub.close();
    await pub.close();
  }
}

await timingFidelity();
await httpOverhead();
await startupCost();
await kvEvents();
