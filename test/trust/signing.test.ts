import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustError } from '../../src/trust/errors.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { formatLock, newLock, parseLock, type ModelsLock } from '../../src/trust/lockfile.ts';
import {
  RELEASE_SLH_DSA, formatSignature, generateHybridKey, parseHybridKey, parseSignature, signLock, verifyLockSignature, type HybridKey,
} from '../../src/trust/signing.ts';
import { makeModel, tempDir } from './fixtures.ts';

function keys(algorithms?: string[]): { priv: HybridKey; pub: HybridKey } {
  const { privatePem, publicPem } = generateHybridKey(algorithms);
  return { priv: parseHybridKey(privatePem, 'private'), pub: parseHybridKey(publicPem, 'public') };
}

async function sampleLock(): Promise<ModelsLock> {
  const { dir, cleanup } = tempDir();
  try {
    return newLock([await lockModel(makeModel(dir), { now: new Date(0) })]);
  } finally {
    cleanup();
  }
}

/** Lock text and signature text in, verdict out: the path `models verify --signature --pub` takes. */
function check(lockText: string | Buffer, sigText: string | Buffer, pub: HybridKey): void {
  verifyLockSignature(parseLock(lockText), parseSignature(sigText), pub);
}

const refused = (fn: () => void) => assert.throws(fn, (e: unknown) => e instanceof TrustError && ['bad-signature', 'bad-lock'].includes(e.code));

test('a hybrid Ed25519 + ML-DSA-65 signature verifies, and both components are present', async () => {
  const lock = await sampleLock();
  const { priv, pub } = keys();
  assert.deepEqual(pub.algorithms, ['ed25519', 'ml-dsa-65']);
  const sig = signLock(lock, priv);
  assert.deepEqual(sig.signatures.map((s) => s.algorithm), ['ed25519', 'ml-dsa-65']);
  check(formatLock(lock), formatSignature(sig), pub);
  // Reformatting the lock (same meaning) keeps the signature valid: it covers the canonical bytes.
  check(JSON.stringify(lock), formatSignature(sig), pub);
});

test('a flipped byte anywhere in the lock file is refused', async () => {
  const lock = await sampleLock();
  const { priv, pub } = keys();
  const sigText = formatSignature(signLock(lock, priv));
  const lockBytes = Buffer.from(formatLock(lock));
  for (let i = 0; i < lockBytes.length; i++) {
    const tampered = Buffer.from(lockBytes);
    tampered[i] ^= 0x01;
    refused(() => check(tampered, sigText, pub));
  }
});

test('a flipped byte in either signature is refused, in the decoded bytes and in the file text', async () => {
  const lock = await sampleLock();
  const { priv, pub } = keys();
  const sig = signLock(lock, priv);
  const lockText = formatLock(lock);
  for (const [index, entry] of sig.signatures.entries()) {
    const raw = Buffer.from(entry.signature, 'base64');
    for (let i = 0; i < raw.length; i += index === 0 ? 1 : 7) {
      const bad = Buffer.from(raw);
      bad[i] ^= 0x80;
      const tampered = structuredClone(sig);
      tampered.signatures[index]!.signature = bad.toString('base64');
      assert.throws(() => check(lockText, formatSignature(tampered), pub), new RegExp(`${entry.algorithm} signature does not verify`));
    }
  }
  const sigText = Buffer.from(formatSignature(sig));
  for (let i = 0; i < sigText.length; i += 3) {
    const tampered = Buffer.from(sigText);
    tampered[i] ^= 0x01;
    refused(() => check(lockText, tampered, pub));
  }
});

test('a valid signature from the wrong key is refused; so is a stripped or half-swapped signature', async () => {
  const lock = await sampleLock();
  const mine = keys();
  const theirs = keys();
  const lockText = formatLock(lock);
  const good = signLock(lock, mine.priv);
  assert.throws(() => check(lockText, formatSignature(signLock(lock, theirs.priv)), mine.pub), /signed by key sha256:[0-9a-f]+, not by the given public key/);
  // Keep my keyId, but carry their (valid for their key) ML-DSA signature: refused.
  const mixed = structuredClone(good);
  mixed.signatures[1] = signLock(lock, theirs.priv).signatures[1]!;
  assert.throws(() => check(lockText, formatSignature(mixed), mine.pub), /ml-dsa-65 signature does not verify/);
  // Only the classical half: refused (both are required).
  const stripped = structuredClone(good);
  stripped.signatures = stripped.signatures.slice(0, 1);
  assert.throws(() => check(lockText, formatSignature(stripped), mine.pub), /signature holds ed25519, the key requires ed25519 \+ ml-dsa-65/);
  // A public key file with only one component is not a hybrid key.
  const ed = mine.pub.keys[0]!.export({ type: 'spki', format: 'pem' }) as string;
  assert.throws(() => parseHybridKey(ed, 'public'), /needs an Ed25519 and a post-quantum/);
  assert.throws(() => parseHybridKey('hello', 'public'), /no PEM blocks/);
  assert.throws(() => parseHybridKey(generateHybridKey().privatePem, 'public'), /is this the private key/);
  assert.throws(() => parseSignature('{"kind":1}'), /unexpected fields/);
  assert.throws(() => parseSignature('nope'), /not valid JSON/);
});

test('SLH-DSA (hash-based) can join the hybrid for long-lived release keys; all three are required', async () => {
  const lock = await sampleLock();
  const { priv, pub } = keys(['ed25519', 'ml-dsa-65', RELEASE_SLH_DSA]);
  const sig = signLock(lock, priv);
  assert.deepEqual(sig.signatures.map((s) => s.algorithm), ['ed25519', 'ml-dsa-65', RELEASE_SLH_DSA]);
  check(formatLock(lock), formatSignature(sig), pub);
  const bad = structuredClone(sig);
  const raw = Buffer.from(bad.signatures[2]!.signature, 'base64');
  raw[raw.length - 1] ^= 1;
  bad.signatures[2]!.signature = raw.toString('base64');
  assert.throws(() => check(formatLock(lock), formatSignature(bad), pub), /slh-dsa-sha2-192s signature does not verify/);
});
