// HTTPS listeners use the trust layer's post-quantum hybrid TLS profiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../../src/gateway/server.ts';
import { silentLogger } from '../../src/gateway/logger.ts';
import { hybridGroupSupported } from '../../src/trust/tls.ts';
import { makePki, opensslAvailable } from '../trust/pki.ts';
import { startFakeEngine } from './fixtures/fake-engine.ts';
import { configFor, poolOf } from './fixtures/helpers.ts';

function get(url: string, ca: string, ecdhCurve: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/health`, { ca: [ca], ecdhCurve, minVersion: 'TLSv1.3' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('an HTTPS listener with --tls-pq strict accepts hybrid clients and refuses classical ones', { skip: !opensslAvailable() || !hybridGroupSupported() }, async (t) => {
  const pki = makePki(mkdtempSync(join(tmpdir(), 'inferstack-gw-tls-')));
  const engine = await startFakeEngine();
  const config = configFor([poolOf([engine.url])], { listeners: [{ host: '127.0.0.1', port: 0, tls: { ...pki.serverA, pq: 'strict' } }] });
  const gw = await startGateway({ config, logger: silentLogger() });
  t.after(async () => { await gw.close(); await engine.close(); });
  assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = readFileSync(pki.ca, 'utf8');
  assert.equal(await get(gw.url, ca, 'X25519MLKEM768'), 200);
  await assert.rejects(get(gw.url, ca, 'X25519'));
});
