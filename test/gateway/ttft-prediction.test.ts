// The gateway checks the scheduler's TTFT prediction against the engine: a streamed request's time
// to its first bytes over the TTFT predicted at the decision, in inferstack_gateway_ttft_prediction_ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gateway } from '../../src/gateway/server.ts';
import { startTwinServer } from '../../src/twin/server/index.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { gatewayFor, metricSum, postJson } from './fixtures/helpers.ts';

const chat = (stream: boolean) => ({ model: 'fake-model', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 3, stream });
const ratio = 'inferstack_gateway_ttft_prediction_ratio';

/** Makes the pool's scheduler predict `seconds` for every decision (as inferstack does with a pool's hardware). */
function predict(gw: Gateway, seconds: number): void {
  const s = gw.state().pools[0]!.scheduler;
  const original = s.schedule.bind(s);
  (s as { schedule: typeof original }).schedule = (req, view, now) => ({ ...original(req, view, now), predictedTtftSeconds: seconds });
}

test('ttft prediction ratio: observed once per streamed request, at its first bytes; not for JSON answers or without a prediction', async (t) => {
  const engine = await startFakeEngine({ responseDelayMs: 300, chunkDelayMs: 20, tokens: 3 });
  const gw = await gatewayFor([engine.url], { policy: 'inferstack' });
  t.after(async () => { await gw.close(); await engine.close(); });

  // No hardware key: inferstack ranks in token units and predicts no seconds, so nothing is observed.
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat(true))).status, 200);
  assert.equal(await metricSum(gw.url, `${ratio}_count`, { pool: 'p' }), 0);

  predict(gw, 0.1); // the engine answers after 300 ms: about 3x slower than predicted
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat(true))).status, 200);
  assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat(false))).status, 200);
  assert.equal(await metricSum(gw.url, `${ratio}_count`, { pool: 'p' }), 1, 'the streamed request only');
  assert.equal(await metricSum(gw.url, `${ratio}_bucket`, { pool: 'p', le: '2' }), 0);
  assert.equal(await metricSum(gw.url, `${ratio}_bucket`, { pool: 'p', le: '4' }), 1);
  const sum = await metricSum(gw.url, `${ratio}_sum`, { pool: 'p' });
  assert.ok(sum >= 3 && sum < 4, `ratio ${sum}`);
});

test('ttft prediction ratio: a twin priced by the same physics as the pool\'s hardware key answers close to the prediction, closer with the pool tokenizer', async (t) => {
  const twin = await startTwinServer({ model: 'llama-3.1-8b', gpu: 'h100', timing: 'model', log: () => {} });
  t.after(() => twin.close());
  const means: number[] = [];
  for (const [run, tokenizer] of [undefined, { source: 'engine' as const }].entries()) {
    const gw = await gatewayFor([], { name: 'twins', models: ['llama-3.1-8b'], policy: 'inferstack', hardware: { model: 'llama-3.1-8b', gpu: 'h100' }, ...(tokenizer ? { tokenizer } : {}), endpoints: [{ url: twin.url, engine: 'twin' }] });
    try {
      for (let i = 0; i < 4; i++) {
        // Distinct prose prompts of about 3.5k tokens, one at a time: each prefill (~100 ms) runs alone on an idle engine.
        const content = Array.from({ length: 150 }, (_, k) => `Paragraph ${run}.${i}.${k}: the quick brown fox jumps over the lazy dog near the river bank.`).join(' ');
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'llama-3.1-8b', messages: [{ role: 'user', content }], max_tokens: 2, stream: true });
        assert.equal(r.status, 200);
      }
      assert.equal(await metricSum(gw.url, `${ratio}_count`, { pool: 'twins' }), 4);
      means.push((await metricSum(gw.url, `${ratio}_sum`, { pool: 'twins' })) / 4);
    } finally {
      await gw.close();
    }
  }
  const [estimated, counted] = means as [number, number];
  // Measured includes HTTP and timer latency the prediction leaves out; without a pool tokenizer the
  // gateway also counts the prompt at 4 characters per token (here 15 % short of the twin's count).
  assert.ok(estimated > 0.9 && estimated < 3, `measured / predicted, estimated length: ${estimated.toFixed(2)}`);
  assert.ok(counted > 0.8 && counted < estimated, `measured / predicted, counted length: ${counted.toFixed(2)} (estimated: ${estimated.toFixed(2)})`);
  console.log(`# twin behind a hardware pool: measured / predicted TTFT ${estimated.toFixed(2)} with the length estimated, ${counted.toFixed(2)} counted by the twin's /tokenize`);
});
