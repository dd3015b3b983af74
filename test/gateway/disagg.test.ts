// Prefill/decode disaggregation driven by the gateway: vLLM NixlConnector flow against real twins
// (prefill and decode roles), its fallbacks against fake engines, and SGLang's bootstrap flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { nixlPrefillBody } from '../../src/gateway/disagg.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { gatewayFor, postJson, readSse } from './fixtures/helpers.ts';

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
