// Prefill/decode disaggregation driven by the gateway: vLLM NixlConnector flow against real twins
// (prefill and decode roles), its fallbacks against fake engines, SGLang's bootstrap flow, and the
// live flow: `serve` over twin processes with the inferstack scheduler choosing, checked on the
// twins' own metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { nixlPrefillBody } from '../../src/gateway/disagg.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { gatewayFor, metricSum, postJson, readSse, spawnServe, spawnTwin, stopProcess } from './fixtures/helpers.ts';

const longPrompt = 'The quick brown fox jumps over the lazy dog. '.repeat(20);

test('NIXL prefill body: one token, not streamed, stream_options removed, remote decode asked', () => {
  const body = { model: 'm', messages: [], stream: true, stream_options: { include_usage: true }, max_tokens: 50, max_completion_tokens: 50 };
  const p = nixlPrefillBody(body);
  assert.equal(p.stream, false);
  assert.equal(p.max_tokens, 1);
  assert.equal(p.max_completion_tokens, 1);
  assert.equal('stream_options' in p, false);
  assert.deepEqual(p.kv_transfer_params, { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null });
  assert.equal(body.stream, true, 'the original body is untouched');
});

test('vLLM NIXL flow through simulated prefill and decode twins, streamed with usage', async (t) => {
  const prefill = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'instant', role: 'prefill', log: () => {} });
  const decode = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'instant', role: 'decode', log: () => {} });
  const gw = await gatewayFor([], {
    models: ['llama-3.1-8b'],
    policy: 'least-load',
    disaggregation: { threshold: 16 },
    endpoints: [
      { url: prefill.url, engine: 'twin', role: 'prefill' },
      { url: decode.url, engine: 'twin', role: 'decode' },
    ],
  });
  t.after(async () => { await gw.close(); await prefill.close(); await decode.close(); });
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'pd-1' },
    body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: longPrompt }], max_tokens: 5, stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(r.status, 200);
  const events = await readSse(r);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(JSON.parse(events.at(-2)!).usage.completion_tokens, 5);
  assert.equal(decode.stats().kvTransfer.pullsOk, 1, 'the decode twin pulled the KV the prefill twin held');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`routing_decisions_total\\{pool="p",endpoint="${prefill.url}",role="prefill"\\} 1`));
  assert.match(metrics, new RegExp(`routing_decisions_total\\{pool="p",endpoint="${decode.url}",role="decode"\\} 1`));
});

test('NIXL fallbacks: prefill 5xx -> decode alone with the original body; prefill 4xx -> returned', async (t) => {
  const prefill = await startFakeEngine({ failStatus: 500 });
  const decode = await startFakeEngine();
  const pool = {
    policy: 'least-load',
    disaggregation: { threshold: 16 },
    endpoints: [
      { url: prefill.url, engine: 'vllm' as const, role: 'prefill' as const },
      { url: decode.url, engine: 'vllm' as const, role: 'decode' as const },
    ],
  };
  const gw = await gatewayFor([], pool);
  t.after(async () => { await gw.close(); await prefill.close(); await decode.close(); });
  const body = { model: 'fake-model', messages: [{ role: 'user', content: longPrompt }], max_tokens: 5 };
  const r = await postJson(`${gw.url}/v1/chat/completions`, body, { 'x-request-id': 'pd-2' });
  assert.equal(r.status, 200);
  assert.equal(prefill.seen[0]!.body.max_tokens, 1);
  assert.equal(prefill.seen[0]!.headers['x-request-id'], 'pd-2');
  assert.deepEqual(decode.seen[0]!.body, body, 'decode got the original body');
  assert.equal(decode.seen[0]!.headers['x-request-id'], 'pd-2');

  prefill.options.failStatus = 400;
  const bad = await postJson(`${gw.url}/v1/chat/completions`, body);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.message, 'fake engine failure 400');
  assert.equal(decode.seen.length, 1, 'no decode after a prefill 4xx');

  prefill.options.failStatus = undefined;
  const ok = await postJson(`${gw.url}/v1/chat/completions`, body);
  assert.equal(ok.status, 200);
  assert.equal((decode.seen[1]!.body.kv_transfer_params as { remote_engine_id: string }).remote_engine_id, 'fake-prefill');
});

test('SGLang flow: bootstrap fields on both legs, sent concurrently', async (t) => {
  const prefill = await startFakeEngine({ tokens: 2, responseDelayMs: 500 });
  const decode = await startFakeEngine({ tokens: 2 });
  const gw = await gatewayFor([], {
    policy: 'least-load',
    disaggregation: { threshold: 16 },
    endpoints: [
      { url: prefill.url, engine: 'sglang', role: 'prefill', bootstrapPort: 9001 },
      { url: decode.url, engine: 'sglang', role: 'decode' },
    ],
  });
  t.after(async () => { await gw.close(); await prefill.close(); await decode.close(); });
  const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: longPrompt }] });
  assert.equal(r.status, 200);
  const p = prefill.seen[0]!.body;
  const d = decode.seen[0]!.body;
  assert.equal(p.bootstrap_host, '127.0.0.1');
  assert.equal(p.bootstrap_port, 9001);
  assert.ok(Number.isSafeInteger(p.bootstrap_room));
  assert.deepEqual([d.bootstrap_host, d.bootstrap_port, d.bootstrap_room], [p.bootstrap_host, p.bootstrap_port, p.bootstrap_room]);
  // The prefill engine takes 500 ms to answer; the decode leg did not wait for it.
  assert.ok(Math.abs(decode.seen[0]!.at - prefill.seen[0]!.at) < 400, 'both legs were sent at once');
});

test('live P/D: serve over prefill and decode twin processes, the inferstack scheduler choosing, the openai client', async (t) => {
  // Two prefill and two decode twins, each its own process with KV events on; serve from a YAML
  // config (disaggregation above 64 uncached tokens, hardware for the step-time model).
  const roles = ['prefill', 'prefill', 'decode', 'decode'] as const;
  const twins = await Promise.all(roles.map((role) => spawnTwin(['--role', role, '--kv-events', 'tcp://127.0.0.1:*'])));
  t.after(() => Promise.all(twins.map(stopProcess)));
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-pd-'));
  const config = join(dir, 'inferstack.yaml');
  writeFileSync(config, JSON.stringify({
    pools: [{
      name: 'pd', models: ['llama-3.1-8b'], policy: 'inferstack',
      hardware: { model: 'llama-3.1-8b', gpu: 'h100' },
      disaggregation: { threshold: 64 },
      endpoints: twins.map((tw, i) => ({ url: tw.url, engine: 'twin', role: roles[i], kvEvents: tw.kvEvents })),
    }],
  }));
  const gw = await spawnServe(['--config', config]);
  t.after(() => stopProcess(gw));
  const prefill = twins.slice(0, 2);
  const decode = twins.slice(2);
  const sum = async (group: typeof twins, name: string, labels: Record<string, string> = {}) => {
    let total = 0;
    for (const tw of group) total += await metricSum(tw.url, name, labels);
    return total;
  };
  const snapshot = async () => ({
    prefillPrompt: await sum(prefill, 'vllm:prompt_tokens_total'),
    prefillGenerated: await sum(prefill, 'vllm:generation_tokens_total'),
    prefillHeld: await sum(prefill, 'inferstack_twin_kv_holds_total', { event: 'held' }),
    prefillPulled: await sum(prefill, 'inferstack_twin_kv_holds_total', { event: 'pulled' }),
    prefillReleased: await sum(prefill, 'inferstack_twin_kv_holds_total', { event: 'released' }),
    decodePrompt: await sum(decode, 'vllm:prompt_tokens_total'),
    decodeGenerated: await sum(decode, 'vllm:generation_tokens_total'),
    pullsOk: await sum(decode, 'inferstack_twin_kv_pulls_total', { outcome: 'ok' }),
    pullsFailed: await sum(decode, 'inferstack_twin_kv_pulls_total', { outcome: 'failed' }),
  });
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  // Long prompts (about 500 tokens): prefilled on a prefill twin, decoded on a decode twin after a KV pull.
  const before = await snapshot();
  const long = 4;
  let promptTokens = 0;
  for (let i = 0; i < long; i++) {
    const messages = [{ role: 'user' as const, content: `Document ${i}: ${longPrompt}${'More text. '.repeat(80)}` }];
    if (i % 2 === 0) {
      const { data, response } = await client.chat.completions.create({ model: 'llama-3.1-8b', messages, max_tokens: 6 }).withResponse();
      assert.equal(response.headers.get('x-inferstack-kv-transfer'), 'pulled', 'the decode twin pulled the prompt\'s KV');
      assert.equal(data.usage!.completion_tokens, 6);
      promptTokens += data.usage!.prompt_tokens;
    } else {
      const stream = await client.chat.completions.create({ model: 'llama-3.1-8b', messages, max_tokens: 6, stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      assert.equal(usage!.completion_tokens, 6);
      promptTokens += usage!.prompt_tokens;
    }
  }
  const mid = await snapshot();
  assert.ok(promptTokens > long * 400, `long prompts (${promptTokens} tokens)`);
  assert.equal(mid.prefillPrompt - before.prefillPrompt, promptTokens, 'every long prompt was prefilled on a prefill twin');
  assert.equal(mid.prefillGenerated - before.prefillGenerated, long, 'one token each on the prefill side');
  assert.equal(mid.prefillHeld - before.prefillHeld, long);
  assert.equal(mid.prefillPulled - before.prefillPulled, long, 'each hold was pulled by a decode twin');
  assert.equal(mid.prefillReleased - before.prefillReleased, long, 'and released after');
  assert.equal(mid.pullsOk - before.pullsOk, long, 'the decode twins pulled every prompt\'s KV');
  assert.equal(mid.pullsFailed, before.pullsFailed, 'no pull fell back to recomputing');
  assert.equal(mid.decodeGenerated - before.decodeGenerated, long * 6, 'the output was decoded on the decode twins');

  // A short prompt (about 10 tokens, below the threshold): the decode twin prefills it itself.
  const { data, response } = await client.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 }).withResponse();
  assert.equal(response.headers.get('x-inferstack-kv-transfer'), null, 'no transfer');
  const end = await snapshot();
  assert.equal(end.prefillPrompt, mid.prefillPrompt, 'no prefill twin saw the short prompt');
  assert.equal(end.prefillHeld, mid.prefillHeld);
  assert.equal(end.pullsOk, mid.pullsOk, 'no pull');
  assert.equal(end.decodePrompt - mid.decodePrompt, data.usage!.prompt_tokens, 'prefilled locally on a decode twin');
  assert.equal(end.decodeGenerated - mid.decodeGenerated, 3);

  // The gateway counted its choices per role; the precise index heard the twins' KV events.
  const gwMetrics = await (await fetch(`${gw.url}/metrics`)).text();
  const routed = (role: string) => [...gwMetrics.matchAll(new RegExp(`routing_decisions_total\\{pool="pd",endpoint="[^"]+",role="${role}"\\} (\\d+)`, 'g'))].reduce((a, m) => a + Number(m[1]), 0);
  assert.equal(routed('prefill'), long);
  assert.equal(routed('decode'), long + 1);
  assert.ok(await metricSum(gw.url, 'inferstack_gateway_kv_events_total') > 0, 'KV events reached the gateway');
});
