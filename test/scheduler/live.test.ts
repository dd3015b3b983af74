// Live: `inferstack serve` in front of 4 twin PROCESSES (KV events on), a shared-prefix chat
// workload from the official openai client, and the twins' own vllm:prefix_cache_* counters.
// Prefix-aware policies must reach a clearly higher hit rate than round-robin. (Measured: round-robin
// 0.32, llm-d 0.81, llm-d-precise 0.80, inferstack 0.81 before KV events were wired.) The precise
// policies run behind a --config whose endpoints name the twins' KV event publishers (`kvEvents`),
// so their index is fed by real events; the gateway's inferstack_gateway_kv_events_total proves it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { parsePrometheusText } from '../../src/engines/prometheus-text.ts';

const bin = fileURLToPath(new URL('../../bin/inferstack.js', import.meta.url));
const MODEL = 'llama-3.1-8b';

interface Proc {
  url: string;
  /** A twin's KV event endpoint (the pattern's first group when it has two). */
  second?: string;
  child: ChildProcess;
}

function start(args: string[], pattern: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`did not start: ${out}${err}`)), 30_000);
    child.stderr!.on('data', (c) => (err += c));
    child.stdout!.on('data', (c) => {
      out += c;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        // Twins print their KV endpoint before the URL.
        resolve(m[2] ? { url: m[2], second: m[1]!, child } : { url: m[1]!, child });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${err}`));
    });
  });
}

function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

let twins: Proc[] = [];

before(async () => {
  twins = await Promise.all(
    [0, 1, 2, 3].map(() =>
      start(['twin', '--model', MODEL, '--gpu', 'h100', '--port', '0', '--timing', 'instant', '--num-gpu-blocks', '4096', '--kv-events', 'tcp://127.0.0.1:*'], /KV events on (tcp:\/\/[^,\s]+)[\s\S]*listening on (http:\/\/\S+)\n/),
    ),
  );
});
after(() => Promise.all(twins.map(stop)));

/** Summed prefix-cache counters over the twins (tokens). */
async function counters(): Promise<{ hits: number; queries: number }> {
  let hits = 0;
  let queries = 0;
  for (const t of twins) {
    const samples = parsePrometheusText(await (await fetch(`${t.url}/metrics`)).text());
    hits += samples.find((s) => s.name === 'vllm:prefix_cache_hits_total')?.value ?? 0;
    queries += samples.find((s) => s.name === 'vllm:prefix_cache_queries_total')?.value ?? 0;
  }
  return { hits, queries };
}

/** A gateway config (JSON is YAML) whose endpoints name each twin's KV event publisher. */
function configWithKvEvents(policy: string): string {
  const endpoints = twins.map((t) => ({ url: t.url, engine: 'twin', kvEvents: { endpoint: t.second! } }));
  const file = join(mkdtempSync(join(tmpdir(), 'inferstack-live-')), 'inferstack.yaml');
  writeFileSync(file, JSON.stringify({ listeners: [{ host: '127.0.0.1', port: 0 }], pools: [{ name: 'live', models: [MODEL], policy, endpoints }] }));
  return file;
}

/** 7 documents x 6 questions, interleaved; each policy gets its own documents (fresh prefixes). */
async function workload(policy: string, kvEvents = false): Promise<number> {
  const gw = await start(kvEvents ? ['serve', '--config', configWithKvEvents(policy)] : ['serve', '--port', '0', '--policy', policy, '--engine-type', 'twin', ...twins.flatMap((t) => ['--upstream', t.url])], /listening on (http:\/\/\S+)/);
  try {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const docs = Array.from({ length: 7 }, (_, d) => `Document ${policy}-${d}: ` + `fact ${d} about ${policy} number ${d * 17}. `.repeat(60));
    const before = await counters();
    for (let q = 0; q < 6; q++) {
      for (const doc of docs) {
        const r = await client.chat.completions.create({
          model: MODEL,
          max_tokens: 4,
          messages: [
            { role: 'system', content: doc },
            { role: 'user', content: `Question ${q}: what does the document say?` },
          ],
        });
        assert.ok(r.choices[0]!.message.content !== undefined);
      }
    }
    const afterCounts = await counters();
    if (kvEvents) {
      const samples = parsePrometheusText(await (await fetch(`${gw.url}/metrics`)).text());
      const events = samples.filter((x) => x.name === 'inferstack_gateway_kv_events_total').reduce((a, x) => a + x.value, 0);
      assert.ok(events >= 7, `${policy}: the gateway's precise index received ${events} KV events`);
    }
    return (afterCounts.hits - before.hits) / (afterCounts.queries - before.queries);
  } finally {
    await stop(gw);
  }
}

test('prefix-aware routing hits the twins\' prefix caches far more often than round-robin', async (t) => {
  const rr = await workload('round-robin');
  const approx = await workload('llm-d');
  const precise = await workload('llm-d-precise', true);
  const ours = await workload('inferstack', true);
  const msg = `hit rates: round-robin ${rr.toFixed(2)}, llm-d ${approx.toFixed(2)}, llm-d-precise ${precise.toFixed(2)}, inferstack ${ours.toFixed(2)}`;
  t.diagnostic(msg);
  assert.ok(rr < 0.7, msg);
  for (const h of [approx, precise, ours]) assert.ok(h > rr + 0.2, msg);
});
