// Test certificates made with the openssl CLI: a CA, two server certificates (for reload tests) and a
// client certificate (mutual TLS). EC P-256 keys: the certificate signatures are classical; what the
// tests examine is the key exchange group.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  ca: string;
  serverA: { cert: string; key: string };
  serverB: { cert: string; key: string };
  client: { cert: string; key: string };
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

function leaf(dir: string, name: string, ext: string): { cert: string; key: string } {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makePki(dir: string): Pki {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=inferstack-test-ca']);
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  return {
    ca: join(dir, 'ca.pem'),
    serverA: leaf(dir, 'server-a', serverExt),
    serverB: leaf(dir, 'server-b', serverExt),
    client: leaf(dir, 'engine-client', 'extendedKeyUsage=clientAuth\n'),
  };
}
