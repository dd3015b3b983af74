// Connections from the gateway to https engines use the trust layer's TLS profiles: a real TLS engine
// on loopback (a TLS terminator in front of the fake vLLM engine) that accepts only X25519MLKEM768
// and requires a client certificate (mutual TLS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { ConfigError, parseConfigText } from '../../src/gateway/config.ts';
import { silentLogger } from '../../src/gateway/logger.ts';
import { startGateway } from '../../src/gateway/server.ts';
import { hybridGroupSupported, serverTlsOptions, type EngineTlsConfig } from '../../src/trust/tls.ts';
import { makePki, opensslAvailable, type Pki } from '../trust/pki.ts';
import { startFakeEngine, type FakeEngine } from './fixtures/fake-engine.ts';
import { configFor, postJson } from './fixtures/helpers.ts';

const skip = !opensslAvailable() || !hybridGroupSupported();

interface TlsEngine {
  url: string;
  fake: FakeEngine;
  /** Common names of the client certificates of accepted connections. */
  clients: string[];
  handshakeErrors: number;
  close(): Promise<void>;
}

/** The fake vLLM engine behind TLS: strict post-quantum key exchange, client certificates required. */
async function startTlsEngine(pki: Pki): Promise<TlsEngine> {
  const fake = await startFakeEngine({ models: ['m'], tokens: 3 });
  const plainPort = Number(new URL(fake.url).port);
  const engine: TlsEngine = { url: '', fake, clients: [], handshakeErrors: 0, close: async () => {} };
  const server = createServer(serverTlsOptions({ ...pki.serverA, pq: 'strict', clientCa: pki.ca }), (socket: TLSSocket) => {
    engine.clients.push(String(socket.getPeerCertificate().subject?.CN));
    const plain = connect(plainPort, '127.0.0.1');
    socket.pipe(plain).pipe(socket);
    socket.on('error', () => plain.destroy());
    plain.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => engine.handshakeErrors++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  engine.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  engine.close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await fake.close();
  };
  return engine;
}

async function gatewayTo(url: string, tls: EngineTlsConfig) {
  const config = configFor([{ name: 'p', models: ['m'], policy: 'round-robin', saturation: null, endpoints: [{ url, engine: 'vllm', tls }] }], { limits: { maxRetries: 0 } });
  return startGateway({ config, logger: silentLogger() });
}

const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

test('strict engine TLS negotiates the hybrid group and presents the client certificate', { skip }, async (t) => {
  const pki = makePki(mkdtempSync(join(tmpdir(), 'inferstack-engine-tls-')));
  const engine = await startTlsEngine(pki);
  const gw = await gatewayTo(engine.url, { pq: 'strict', ca: pki.ca, ...pki.client });
  t.after(async () => { await gw.close(); await engine.close(); });

  const r = await postJson(`${gw.url}/v1/chat/completions`, chat);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.completion_tokens, 3);
  assert.equal(engine.fake.seen.filter((s) => s.path === '/v1/chat/completions').length, 1, 'the request reached the engine through TLS');
  // The engine accepts only X25519MLKEM768 and only clients with a certificate its CA signed.
  assert.ok(engine.clients.length > 0);
  assert.ok(engine.clients.every((cn) => cn === 'engine-client'), engine.clients.join(','));
  assert.equal(engine.handshakeErrors, 0);
});

test('a classical-only profile, or no client certificate, is refused by the engine', { skip }, async (t) => {
  const pki = makePki(mkdtempSync(join(tmpdir(), 'inferstack-engine-tls-')));
  const engine = await startTlsEngine(pki);
  const classical = await gatewayTo(engine.url, { pq: 'off', ca: pki.ca, ...pki.client });
  const anonymous = await gatewayTo(engine.url, { pq: 'strict', ca: pki.ca });
  t.after(async () => { await classical.close(); await anonymous.close(); await engine.close(); });

  for (const gw of [classical, anonymous]) {
    const r = await postJson(`${gw.url}/v1/chat/completions`, chat);
    assert.ok(r.status >= 500, `${r.status} ${r.text}`);
    assert.equal(typeof r.json.error.message, 'string');
  }
  assert.equal(engine.fake.seen.length, 0, 'nothing reached the engine');
  assert.ok(engine.handshakeErrors > 0);
});

test('engine TLS config errors name the key', { skip }, () => {
  const pki = makePki(mkdtempSync(join(tmpdir(), 'inferstack-engine-tls-')));
  const pool = (endpoint: string) => `pools: [{name: a, models: [m], endpoints: [${endpoint}]}]`;
  const bad: [string, RegExp][] = [
    [pool(`{url: "http://127.0.0.1:1", engine: vllm, tls: {pq: strict}}`), /pools\[0\]\.endpoints\[0\]\.tls: only for https urls/],
    [pool(`{url: "https://127.0.0.1:1", engine: vllm, tls: {pq: fast}}`), /pools\[0\]\.endpoints\[0\]\.tls\.pq: must be one of strict, prefer, off/],
    [pool(`{url: "https://127.0.0.1:1", engine: vllm, tls: {ca: "/nonexistent/ca.pem"}}`), /pools\[0\]\.endpoints\[0\]\.tls: ENOENT/],
    [pool(`{url: "https://127.0.0.1:1", engine: vllm, tls: {cert: "${pki.client.cert}"}}`), /pools\[0\]\.endpoints\[0\]\.tls: engine mutual TLS needs both/],
    [pool(`{url: "https://127.0.0.1:1", engine: vllm, tls: {cert: "${pki.client.cert}", key: "${pki.serverA.key}"}}`), /pools\[0\]\.endpoints\[0\]\.tls: .*(key values mismatch|KEY_VALUES_MISMATCH)/i],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseConfigText(text, 'cfg.yaml'), (err: Error) => err instanceof ConfigError && re.test(err.message), text);
  }
  const ok = parseConfigText(pool(`{url: "https://127.0.0.1:1", engine: vllm, tls: {ca: "${pki.ca}"}}`), 'cfg.yaml');
  assert.deepEqual(ok.pools[0]!.endpoints[0]!.tls, { ca: pki.ca, pq: 'prefer' });
});
