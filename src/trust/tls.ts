// Post-quantum hybrid TLS profiles for the gateway (server side) and for connections to engines
// (client side, including mutual TLS). TLS 1.3 only. The hybrid key exchange X25519MLKEM768
// (ML-KEM-768 + X25519; Node 24 ships OpenSSL 3.5) protects today's traffic against
// harvest-now-decrypt-later; X25519 inside it keeps classical security if ML-KEM falls.
//
//   strict  only X25519MLKEM768: a peer that cannot negotiate it fails the handshake
//   prefer  X25519MLKEM768 whenever the peer supports it (even at the cost of a HelloRetryRequest),
//           classical groups otherwise
//   off     classical groups only (X25519, P-256, P-384)
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, type ConnectionOptions, type SecureContextOptions, type Server, type TlsOptions } from 'node:tls';
import { Agent } from 'undici';

export const HYBRID_GROUP = 'X25519MLKEM768';
const CLASSICAL_GROUPS = 'X25519:P-256:P-384';

export type PqMode = 'strict' | 'prefer' | 'off';
export const PQ_MODES: readonly PqMode[] = ['strict', 'prefer', 'off'];

export function parsePqMode(value: string): PqMode {
  if ((PQ_MODES as readonly string[]).includes(value)) return value as PqMode;
  throw new Error(`--tls-pq must be one of ${PQ_MODES.join(', ')}, got '${value}'`);
}

/**
 * OpenSSL 3.5 group lists: '/' separates tuples in order of server preference, ':' separates groups
 * of equal preference within a tuple (there the client's key shares decide). A first tuple holding only
 * X25519MLKEM768 makes the server pick the hybrid group whenever the client lists it, even when the
 * client sent only a classical key share (the server then asks again with a HelloRetryRequest).
 */
export function serverGroups(mode: PqMode): string {
  if (mode === 'strict') return HYBRID_GROUP;
  if (mode === 'prefer') return `${HYBRID_GROUP}/${CLASSICAL_GROUPS}`;
  return CLASSICAL_GROUPS;
}

/** As a client, '*' marks the groups to send key shares for: both, so neither kind of server needs a retry. */
export function clientGroups(mode: PqMode): string {
  if (mode === 'strict') return HYBRID_GROUP;
  if (mode === 'prefer') return `*${HYBRID_GROUP}:*X25519:P-256:P-384`;
  return CLASSICAL_GROUPS;
}

/** Whether this Node's OpenSSL knows the hybrid group (Node 24 with OpenSSL >= 3.5 does). */
export function hybridGroupSupported(): boolean {
  try {
    createSecureContext({ ecdhCurve: HYBRID_GROUP, minVersion: 'TLSv1.3' });
    return true;
  } catch {
    return false;
  }
}

export interface ServerTlsFiles {
  cert: string; // PEM certificate chain
  key: string; // PEM private key
  clientCa?: string; // PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS)
}

export interface ServerTlsConfig extends ServerTlsFiles {
  pq: PqMode;
}

function secureContextOptions(cfg: ServerTlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(cfg.cert),
    key: readFileSync(cfg.key),
    ...(cfg.clientCa ? { ca: readFileSync(cfg.clientCa) } : {}),
    minVersion: 'TLSv1.3',
    ecdhCurve: serverGroups(cfg.pq),
  };
}

/**
 * Options for tls.createServer / https.createServer, read from the files now. Throws a one-line Error
 * when a file is unreadable or the key does not match the certificate.
 */
export function serverTlsOptions(cfg: ServerTlsConfig): TlsOptions {
  let options: SecureContextOptions;
  try {
    options = secureContextOptions(cfg);
    createSecureContext(options); // fail now on a mismatched key, not on the first handshake
  } catch (err) {
    throw new Error(`TLS configuration: ${(err as Error).message}`);
  }
  return { ...options, ...(cfg.clientCa ? { requestCert: true, rejectUnauthorized: true } : {}) };
}

export interface CertificateReloader {
  /** Re-read the files and swap the server's context; on any error keep serving the old one. */
  reload(): { ok: true } | { ok: false; error: string };
  /** Stop watching the files. */
  close(): void;
}

/**
 * Certificates reload without restart: existing connections keep their session, new handshakes get
 * the new context. With `watchIntervalMs`, the files are polled (fs.watchFile survives the
 * rename-into-place and symlink swaps that certificate managers use; fs.watch does not) and a change
 * triggers reload after a short settle delay, so a cert and key written one after the other land together.
 */
export function enableCertificateReload(
  server: Server,
  cfg: ServerTlsConfig,
  opts: { watchIntervalMs?: number; settleMs?: number; onReload?: (r: { ok: boolean; error?: string }) => void } = {},
): CertificateReloader {
  const reload: CertificateReloader['reload'] = () => {
    try {
      const options = secureContextOptions(cfg);
      createSecureContext(options); // validate before swapping
      server.setSecureContext(options);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: `certificate reload failed, still serving the previous certificate: ${(err as Error).message}` };
    }
  };
  const files = [cfg.cert, cfg.key, ...(cfg.clientCa ? [cfg.clientCa] : [])];
  let timer: NodeJS.Timeout | undefined;
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(() => opts.onReload?.(reload()), opts.settleMs ?? 200);
    timer.unref();
  };
  if (opts.watchIntervalMs !== undefined) {
    for (const f of files) watchFile(f, { interval: opts.watchIntervalMs, persistent: false }, onChange);
  }
  return {
    reload,
    close() {
      clearTimeout(timer);
      for (const f of files) unwatchFile(f, onChange);
    },
  };
}

export interface EngineTlsConfig {
  pq: PqMode;
  ca?: string; // PEM CA bundle that signed the engines' certificates (default: the system roots)
  cert?: string; // client certificate for mutual TLS
  key?: string; // client key for mutual TLS
  servername?: string; // SNI / name to check, when engines are addressed by IP
}

/** tls.connect options for connections to engines (usable as undici's `connect` options). */
export function engineConnectOptions(cfg: EngineTlsConfig): ConnectionOptions {
  if ((cfg.cert === undefined) !== (cfg.key === undefined)) throw new Error('engine mutual TLS needs both a client certificate and a key');
  return {
    minVersion: 'TLSv1.3',
    ecdhCurve: clientGroups(cfg.pq),
    rejectUnauthorized: true,
    ...(cfg.ca ? { ca: readFileSync(cfg.ca) } : {}),
    ...(cfg.cert ? { cert: readFileSync(cfg.cert), key: readFileSync(cfg.key!) } : {}),
    ...(cfg.servername ? { servername: cfg.servername } : {}),
  };
}

/** An undici dispatcher whose TLS connections to engines use the profile. */
export function engineDispatcher(cfg: EngineTlsConfig, agentOptions: Omit<Agent.Options, 'connect'> = {}): Agent {
  return new Agent({ ...agentOptions, connect: engineConnectOptions(cfg) });
}
