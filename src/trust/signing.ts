// Hybrid signatures over the canonical lock: an Ed25519 signature and an ML-DSA-65 signature (and, for
// long-lived release keys, an SLH-DSA-SHA2-192s one), all over the same message, ALL required to verify.
// Forging needs breaking every scheme: classical security today, post-quantum security tomorrow.
//
// Key files are PEM: signing.key.pem holds one PKCS#8 block per scheme, signing.pub.pem one SPKI block
// per scheme. The message signed is
//   "inferstack-models-lock-signature-v1\0" || keyId || "\0" || canonical lock bytes
// where keyId = sha256 over the component public keys (length-prefixed DER, in file order). The prefix
// separates this use from any other use of the same keys; keyId binds the components together, so a
// signature cannot be lifted into a different composite key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readTrustFile } from './bounded-read.ts';
import { canonicalLockBytes, type ModelsLock } from './lockfile.ts';
import { TrustError } from './errors.ts';
import { sha256Hex } from './hash.ts';

export const SIGNATURE_KIND = 'inferstack.models.lock.sig';
export const SIGNATURE_VERSION = 1;
const DOMAIN = 'inferstack-models-lock-signature-v1\0';
const MAX_KEY_FILE_BYTES = 1024 * 1024;
const MAX_SIG_FILE_BYTES = 1024 * 1024;

const CLASSICAL = new Set(['ed25519']);
const POST_QUANTUM = new Set(['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'slh-dsa-sha2-128s', 'slh-dsa-sha2-192s', 'slh-dsa-sha2-256s',
  'slh-dsa-shake-128s', 'slh-dsa-shake-192s', 'slh-dsa-shake-256s', 'slh-dsa-sha2-128f', 'slh-dsa-sha2-192f', 'slh-dsa-sha2-256f',
  'slh-dsa-shake-128f', 'slh-dsa-shake-192f', 'slh-dsa-shake-256f']);
export const DEFAULT_ALGORITHMS = ['ed25519', 'ml-dsa-65'] as const;
export const RELEASE_SLH_DSA = 'slh-dsa-sha2-192s'; // NIST category 3, like ML-DSA-65; hash-based only

export interface HybridKey {
  algorithms: string[]; // one per component, in file order
  keys: KeyObject[];
}

export interface LockSignature {
  kind: typeof SIGNATURE_KIND;
  version: typeof SIGNATURE_VERSION;
  keyId: string; // 'sha256:' + hex
  lockDigest: string; // 'sha256:' + hex of the canonical lock (tells "the lock changed" from "bad signature")
  signatures: { algorithm: string; signature: string }[]; // base64
}

export function generateHybridKey(algorithms: readonly string[] = DEFAULT_ALGORITHMS): { privatePem: string; publicPem: string } {
  checkAlgorithmSet(algorithms, 'bad-key');
  const header = `# inferstack models signing key: ${algorithms.join(' + ')} (hybrid: every component signs, every one must verify)\n`;
  let privatePem = header;
  let publicPem = header;
  for (const alg of algorithms) {
    const pair = generateKeyPairSync(alg as 'ed25519');
    privatePem += pair.privateKey.export({ type: 'pkcs8', format: 'pem' });
    publicPem += pair.publicKey.export({ type: 'spki', format: 'pem' });
  }
  return { privatePem, publicPem };
}

export async function readHybridKey(path: string, kind: 'private' | 'public'): Promise<HybridKey> {
  const text = (await readTrustFile(path, MAX_KEY_FILE_BYTES, 'bad-key', 'key')).toString('utf8');
  return parseHybridKey(text, kind, path);
}

export function parseHybridKey(text: string, kind: 'private' | 'public', where = 'key'): HybridKey {
  const label = kind === 'private' ? 'PRIVATE KEY' : 'PUBLIC KEY';
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  if (blocks.length === 0) throw new TrustError('bad-key', `${where}: no PEM blocks`);
  const key: HybridKey = { algorithms: [], keys: [] };
  for (const block of blocks) {
    if (!block.startsWith(`-----BEGIN ${label}-----`)) throw new TrustError('bad-key', `${where}: expected ${label} blocks (is this the ${kind === 'private' ? 'public' : 'private'} key?)`);
    let k: KeyObject;
    try {
      k = kind === 'private' ? createPrivateKey(block) : createPublicKey(block);
    } catch (err) {
      throw new TrustError('bad-key', `${where}: unreadable ${label} block (${(err as Error).message})`);
    }
    key.algorithms.push(k.asymmetricKeyType ?? 'unknown');
    key.keys.push(k);
  }
  checkAlgorithmSet(key.algorithms, 'bad-key', where);
  return key;
}

/** A hybrid key: at least one classical and one post-quantum component, no repeats, nothing unknown. */
function checkAlgorithmSet(algorithms: readonly string[], code: 'bad-key' | 'bad-signature', where = 'key'): void {
  const unknown = algorithms.filter((a) => !CLASSICAL.has(a) && !POST_QUANTUM.has(a));
  if (unknown.length > 0) throw new TrustError(code, `${where}: unsupported signature algorithm ${unknown.join(', ')}`);
  if (new Set(algorithms).size !== algorithms.length) throw new TrustError(code, `${where}: an algorithm appears twice`);
  if (!algorithms.some((a) => CLASSICAL.has(a)) || !algorithms.some((a) => POST_QUANTUM.has(a))) {
    throw new TrustError(code, `${where}: a hybrid key needs an Ed25519 and a post-quantum (ML-DSA or SLH-DSA) component, got ${algorithms.join(' + ')}`);
  }
}

/** sha256 over the public components: 4-byte big-endian length + SPKI DER, per component in order. */
export function keyId(key: HybridKey): string {
  const parts: Buffer[] = [];
  for (const k of key.keys) {
    const pub = k.type === 'private' ? createPublicKey(k) : k;
    const der = pub.export({ type: 'spki', format: 'der' });
    const len = Buffer.alloc(4);
    len.writeUInt32BE(der.length);
    parts.push(len, der);
  }
  return `sha256:${sha256Hex(Buffer.concat(parts))}`;
}

function message(id: string, lockBytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${DOMAIN}${id}\0`, 'utf8'), lockBytes]);
}

export function signLock(lock: ModelsLock, key: HybridKey): LockSignature {
  const lockBytes = canonicalLockBytes(lock);
  const id = keyId(key);
  const msg = message(id, lockBytes);
  return {
    kind: SIGNATURE_KIND,
    version: SIGNATURE_VERSION,
    keyId: id,
    lockDigest: `sha256:${sha256Hex(lockBytes)}`,
    signatures: key.keys.map((k, i) => ({ algorithm: key.algorithms[i]!, signature: sign(null, msg, k).toString('base64') })),
  };
}

export function formatSignature(sig: LockSignature): string {
  return `${JSON.stringify(sig, null, 2)}\n`;
}

export function parseSignature(bytes: Buffer | string, where = 'signature'): LockSignature {
  if (bytes.length > MAX_SIG_FILE_BYTES) throw new TrustError('bad-signature', `${where}: larger than ${MAX_SIG_FILE_BYTES} bytes`);
  const fail = (msg: string): never => {
    throw new TrustError('bad-signature', `${where}: ${msg}`);
  };
  let v: Record<string, unknown> = {};
  try {
    v = JSON.parse(bytes.toString());
  } catch {
    fail('not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('not a JSON object');
  if (Object.keys(v).sort().join() !== 'keyId,kind,lockDigest,signatures,version') fail('unexpected fields');
  if (v.kind !== SIGNATURE_KIND || v.version !== SIGNATURE_VERSION) fail(`not a version ${SIGNATURE_VERSION} ${SIGNATURE_KIND}`);
  if (typeof v.keyId !== 'string' || typeof v.lockDigest !== 'string') fail('keyId and lockDigest must be strings');
  if (!Array.isArray(v.signatures) || v.signatures.length > 8) fail('signatures must be an array of at most 8');
  for (const s of v.signatures as unknown[]) {
    const e = s as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || Object.keys(e).sort().join() !== 'algorithm,signature') fail('each signature has exactly algorithm and signature');
    if (typeof e.algorithm !== 'string' || typeof e.signature !== 'string') fail('algorithm and signature must be strings');
    // Canonical base64 only: Node's decoder skips stray characters and ignores trailing bits, so a
    // flipped character could otherwise decode to the same bytes.
    if (Buffer.from(e.signature as string, 'base64').toString('base64') !== e.signature) fail(`${e.algorithm} signature is not canonical base64`);
  }
  return v as unknown as LockSignature;
}

export async function readSignature(path: string): Promise<LockSignature> {
  return parseSignature(await readTrustFile(path, MAX_SIG_FILE_BYTES, 'bad-signature', 'signature'), path);
}

/** Throws unless every component of `pub` has a valid signature over this lock. */
export function verifyLockSignature(lock: ModelsLock, sig: LockSignature, pub: HybridKey): void {
  const id = keyId(pub);
  if (sig.keyId !== id) throw new TrustError('bad-signature', `signed by key ${sig.keyId}, not by the given public key ${id}`);
  const lockBytes = canonicalLockBytes(lock);
  if (sig.lockDigest !== `sha256:${sha256Hex(lockBytes)}`) throw new TrustError('bad-signature', 'the lock has changed since it was signed');
  const algs = sig.signatures.map((s) => s.algorithm);
  if (algs.join() !== pub.algorithms.join()) {
    throw new TrustError('bad-signature', `signature holds ${algs.join(' + ') || 'nothing'}, the key requires ${pub.algorithms.join(' + ')}`);
  }
  const msg = message(id, lockBytes);
  pub.keys.forEach((k, i) => {
    let ok = false;
    try {
      ok = verify(null, msg, k, Buffer.from(sig.signatures[i]!.signature, 'base64'));
    } catch {
      ok = false; // malformed signature bytes (wrong length) are a failed verification, not a crash
    }
    if (!ok) throw new TrustError('bad-signature', `${pub.algorithms[i]} signature does not verify`);
  });
}
