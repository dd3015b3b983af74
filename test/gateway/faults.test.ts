// Faults with real processes: an engine killed mid-stream, an engine that never answers, a
// flapping engine, a dead endpoint, a slow client, a client that leaves, saturation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { gatewayFor, postJson, spawnEngine } from './fixtures/helpers.ts';
import { until } from '../helpers/until.ts';

const chat = { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] };
const fast = { signals: { healthIntervalMs: 50, failureThreshold: 2, cooldownMs: 100, scrapeIntervalMs: 50, probeTimeoutMs: 500 } };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(re);
  return m ? Number(m[1]) : 0;
}

test('an engine killed mid-stream: the stream ends with an error event, never hangs', async (t) => {
  const engine = await spawnEngine(['--tokens', '200', '--chunk-delay-ms', '20']);
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { engine.child.kill('SIGKILL'); await gw.close(); });
  const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }) });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  let text = '';
  while (!text.includes('tok2')) text += Buffer.from((await reader.read()).value!).toString();
  engine.child.kill('SIGKILL');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  assert.equal(events.at(-1), '[DONE]');
  const err = JSON.parse(events.at(-2)!);
  assert.equal(err.error.code, 'upstream_disconnected');
  assert.equal(await metric(gw.url, /inferstack_gateway_stream_errors_total\{model="fake-model"\} (\d+)/), 1);
});

test('an engine that never answers: 504 after its first-byte timeout; with a healthy peer the request is retried there', async (t) => {
  const hung = await spawnEngine(['--hang']);
  const good = await startFakeEngine();
  const alone = await gatewayFor([hung.url], { endpoints: [{ url: hung.url, engine: 'vllm', timeouts: { firstByteMs: 300 } }] });
  const paired = await gatewayFor([], {
    endpoints: [
      { url: hung.url, engine: 'vllm', timeouts: { firstByteMs: 300 } },
      { url: good.url, engine: 'vllm' },
    ],
  });
  t.after(async () => { hung.child.kill('SIGKILL'); await alone.close(); await paired.close(); await good.close(); });
  const r = await postJson(`${alone.url}/v1/chat/completions`, chat);
  assert.equal(r.status, 504);
  assert.equal(r.json.error.code, 'upstream_timeout');
  // Round-robin sends one of two requests to the hung engine first; both must succeed.
  const results = await Promise.all([1, 2].map(() => postJson(`${paired.url}/v1/chat/completions`, chat)));
  assert.deepEqual(results.map((x) => x.status), [200, 200]);
  assert.equal(await metric(paired.url, /inferstack_gateway_retries_total\{pool="p"\} (\d+)/), 1);
  assert.equal(await metric(paired.url, /inferstack_gateway_upstream_errors_total\{endpoint="[^"]+",kind="timeout"\} (\d+)/), 1);
});

test('a dead endpoint is failed over, ejected, and 503 once nothing is healthy', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const good = await startFakeEngine();
  const gw = await gatewayFor([dead, good.url], {}, fast);
  t.after(async () => { await gw.close(); await good.close(); });
  for (let i = 0; i < 6; i++) assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
  await until('the dead endpoint to be ejected', () => gw.state().pools[0]!.endpoints[0]!.view.healthy === false);
  assert.ok((await metric(gw.url, /inferstack_gateway_endpoint_ejections_total\{endpoint="[^"]+"\} (\d+)/)) >= 1);
  // Started just before its first request, and probing once a second, so the prober cannot eject
  // the endpoint before that request sees it dead (on a loaded machine 50 ms probes could).
  const lonely = await gatewayFor([dead], {}, { signals: { ...fast.signals, healthIntervalMs: 1000 } });
  t.after(() => lonely.close());
  const first = await postJson(`${lonely.url}/v1/chat/completions`, chat);
  assert.equal(first.status, 502);
  assert.equal(first.json.error.code, 'upstream_unavailable');
  await until('the only endpoint to be ejected', () => lonely.state().pools[0]!.endpoints[0]!.view.healthy === false);
  const r = await postJson(`${lonely.url}/v1/chat/completions`, chat);
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, 'no_healthy_endpoint');
  assert.equal((await fetch(`${lonely.url}/ready`)).status, 503);
});

test('a busy engine whose health probe times out is kept while its requests succeed', async (t) => {
  const engine = await startFakeEngine({ healthDelayMs: 400 });
  const gw = await gatewayFor([engine.url], {}, { signals: { ...fast.signals, probeTimeoutMs: 150 } });
  t.after(async () => { await gw.close(); await engine.close(); });
  const ep = gw.state().pools[0]!.endpoints[0]!;
  const end = Date.now() + 1500;
  while (Date.now() < end) assert.equal((await postJson(`${gw.url}/v1/chat/completions`, chat)).status, 200);
  assert.equal(ep.breaker.ejections, 0, 'probe timeouts alone did not eject an engine that serves');
  // With no traffic to vouch for it, the same slow probe does eject it.
  await until('the slow prober to eject the idle engine', () => !ep.view.healthy, 5000);
});

test('a flapping engine: every request still succeeds, it is ejected and re-admitted', async (t) => {
  const port = await freePort();
  const good = await startFakeEngine();
  const flapUrl = `http://127.0.0.1:${port}`;
  const gw = await gatewayFor([flapUrl, good.url], {}, fast);
  let proc = await spawnEngine(['--port', String(port)]);
  t.after(async () => { proc.child.kill('SIGKILL'); await gw.close(); await good.close(); });
  const statuses: number[] = [];
  let flapping = true;
  const load = (async () => {
    while (flapping) statuses.push((await postJson(`${gw.url}/v1/chat/completions`, chat)).status);
  })();
  for (let i = 0; i < 3; i++) {
    await sleep(150);
    proc.child.kill('SIGKILL');
    await proc.exited;
    await sleep(250);
    proc = await spawnEngine(['--port', String(port)]);
  }
  const flap = gw.state().pools[0]!.endpoints[0]!;
  await until('the flapping engine to be re-admitted', () => flap.view.healthy, 10_000);
  flapping = false;
  await load;
  assert.ok(statuses.length > 10, `made ${statuses.length} requests`);
  assert.deepEqual([...new Set(statuses)], [200]);
  assert.ok(flap.breaker.ejections >= 1, 'the flapping engine was ejected');
  const before = proc.child.pid;
  const r = await postJson(`${gw.url}/v1/chat/completions`, chat);
  assert.equal(r.status, 200);
  assert.equal(proc.child.pid, before);
});

test('a slow client: backpressure reaches the engine, so memory stays bounded', async (t) => {
  const chunkBytes = 64 * 1024;
  // 188 MiB if it were all buffered. The kernel's loopback socket buffers alone may hold up to
  // 2 x (tcp_rmem max + tcp_wmem max), 72 MiB on Linux defaults, so the stream must be well past that
  // for "the engine stopped" to mean the gateway stopped reading rather than the kernel absorbing it.
  const total = 3000;
  const engine = await startFakeEngine({ tokens: total, chunkPadding: chunkBytes });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const { port } = new URL(gw.url);
  const body = JSON.stringify({ ...chat, stream: true });
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  res.pause(); // the client stops reading
  await sleep(800);
  const sentWhilePaused = engine.chunksSent;
  await sleep(400);
  assert.equal(engine.chunksSent, sentWhilePaused, 'the engine is paused, not buffering into the gateway');
  assert.ok(sentWhilePaused < total / 2, `only ${sentWhilePaused} of ${total} chunks left the engine while the client was stalled`);
  let received = 0;
  res.on('data', (c: Buffer) => (received += c.length));
  res.resume();
  await new Promise((r) => res.on('end', r));
  assert.equal(engine.chunksSent, total);
  assert.ok(received > total * chunkBytes);
});

test('a client that disconnects cancels the engine request promptly', async (t) => {
  const engine = await startFakeEngine({ tokens: 1000, chunkDelayMs: 10 });
  const gw = await gatewayFor([engine.url]);
  t.after(async () => { await gw.close(); await engine.close(); });
  const ac = new AbortController();
  const r = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }), signal: ac.signal });
  const reader = r.body!.getReader();
  await reader.read();
  ac.abort();
  await until('the engine request to be aborted', () => engine.aborted === 1, 2000);
  assert.ok(engine.chunksSent < 1000);
  await until('nothing in flight', () => gw.state().pools[0]!.endpoints[0]!.view.inflight.requests === 0, 2000);
  assert.equal(await metric(gw.url, /inferstack_gateway_client_disconnects_total\{model="fake-model"\} (\d+)/), 1);
});

test('saturation: requests queue (bounded) and are served in arrival order, then 429 with retry-after', async (t) => {
  const engine = await startFakeEngine({ tokens: 10, chunkDelayMs: 40 });
  const gw = await gatewayFor([], { endpoints: [{ url: engine.url, engine: 'vllm', maxConcurrency: 1 }] }, { limits: { queueSize: 2, queueTimeoutMs: 5000 } });
  t.after(async () => { await gw.close(); await engine.close(); });
  const ask = (content: string) => postJson(`${gw.url}/v1/chat/completions`, { ...chat, messages: [{ role: 'user', content }], stream: true });
  const first = ask('first');
  await until('the first request at the engine', () => engine.seen.length === 1);
  const second = ask('second');
  await until('one queued', () => gw.state().pools[0]!.queue.depth === 1);
  const third = ask('third');
  await until('two queued', () => gw.state().pools[0]!.queue.depth === 2);
  const fourth = await postJson(`${gw.url}/v1/chat/completions`, chat);
  assert.equal(fourth.status, 429);
  assert.equal(fourth.json.error.code, 'engines_saturated');
  assert.ok(Number(fourth.headers.get('retry-after')) >= 1);
  assert.deepEqual([(await first).status, (await second).status, (await third).status], [200, 200, 200]);
  const order = engine.seen.map((s) => (s.body.messages as { content: string }[])[0]!.content);
  assert.deepEqual(order, ['first', 'second', 'third']);
  const pool = gw.state().pools[0]!.name;
  assert.equal(await metric(gw.url, new RegExp(`inferstack_gateway_queue_exits_total\\{pool="${pool}",exit="admitted"\\} (\\d+)`)), 2);
  assert.equal(await metric(gw.url, new RegExp(`inferstack_gateway_queue_exits_total\\{pool="${pool}",exit="full"\\} (\\d+)`)), 1);
  assert.equal(await metric(gw.url, new RegExp(`inferstack_gateway_queue_time_seconds_count\\{pool="${pool}"\\} (\\d+)`)), 2);
  // The second waited for the first's whole stream (10 chunks 40 ms apart).
  assert.ok((await metric(gw.url, new RegExp(`inferstack_gateway_queue_time_seconds_sum\\{pool="${pool}"\\} ([\\d.e-]+)`))) > 0.2);
});

test('saturation under a burst: a bounded queue sheds the excess with 429, serves the rest, and ends empty', async (t) => {
  // Each answer takes about 60 ms, so 4 in flight serve about 66 requests a second: the burst must
  // overflow the queue even when a cold client opens its connections slowly (2 ms answers did not).
  const engine = await startFakeEngine({ tokens: 3, chunkDelayMs: 20 });
  const gw = await gatewayFor([], { endpoints: [{ url: engine.url, engine: 'vllm', maxConcurrency: 4 }] }, { limits: { queueSize: 40, queueTimeoutMs: 10_000 } });
  t.after(async () => { await gw.close(); await engine.close(); });
  const burst = await Promise.all(Array.from({ length: 150 }, (_, i) => postJson(`${gw.url}/v1/chat/completions`, { ...chat, messages: [{ role: 'user', content: `burst ${i}` }], stream: i % 2 === 0 })));
  const served = burst.filter((r) => r.status === 200).length;
  const shed = burst.filter((r) => r.status === 429).length;
  assert.equal(served + shed, 150, `only 200 and 429: ${[...new Set(burst.map((r) => r.status))]}`);
  assert.ok(shed > 0 && served >= 44, `served ${served}, shed ${shed}`); // at least the 4 in flight and the 40 queued
  const pool = gw.state().pools[0]!;
  await until('an empty queue and nothing in flight', () => pool.queue.depth === 0 && pool.endpoints[0]!.view.inflight.requests === 0);
  const exits = async (exit: string) => metric(gw.url, new RegExp(`inferstack_gateway_queue_exits_total\\{pool="${pool.name}",exit="${exit}"\\} (\\d+)`));
  assert.equal(await exits('full'), shed);
  const admitted = await exits('admitted');
  assert.ok(admitted >= 40 && admitted <= served, `admitted from the queue ${admitted}, served ${served}`);
  assert.deepEqual([await exits('timeout'), await exits('failed')], [0, 0]);
  assert.equal(engine.seen.length, served);
});
