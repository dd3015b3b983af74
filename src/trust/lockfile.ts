// models.lock: the manifest of per-file digests, in the spirit of the OpenSSF model-signing manifest
// (a list of resources, each a relative path with its SHA-256, and a digest over all of them).
//
// {
//   "kind": "inferstack.models.lock", "version": 1, "hashAlgorithm": "sha256",
//   "models": [{
//     "name": "llama-3.2-1b",                  unique within the lock
//     "source": "/abs/dir",                    the base the file paths are relative to (provenance):
//                                              a directory, or an http(s) URL for a file locked from a URL
//     "lockedAt": "2026-11-22T05:30:00.000Z",  when they were hashed (provenance)
//     "digest": "sha256:<hex>",                see modelDigest()
//     "files": [{ "path": "model.safetensors", "size": 2471645608, "sha256": "<hex>" }]
//   }]
// }
//
// `source` is the directory the model was locked from (a locked single file: its directory, and the
// model has that one file). `models pull --from BASE` reads from another base with the same layout.
import { readTrustFile } from './bounded-read.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';
import { TrustError } from './errors.ts';

export const LOCK_KIND = 'inferstack.models.lock';
export const LOCK_VERSION = 1;
export const DEFAULT_LOCK_FILE = 'models.lock';

// Bounds: a lock is read before anything is trusted, so it must not be able to exhaust memory.
export const MAX_LOCK_BYTES = 64 * 1024 * 1024;
export const MAX_MODELS = 10_000;
export const MAX_FILES_PER_MODEL = 100_000;
const MAX_PATH_LENGTH = 4096;

export interface LockedFile {
  path: string; // relative, '/'-separated, no '.' or '..' segments
  size: number;
  sha256: string; // lowercase hex
}

export interface LockedModel {
  name: string;
  source: string; // absolute directory (or http(s) base URL) the files were hashed from
  lockedAt: string;
  digest: string; // 'sha256:' + hex
  files: LockedFile[];
}

export interface ModelsLock {
  kind: typeof LOCK_KIND;
  version: typeof LOCK_VERSION;
  hashAlgorithm: 'sha256';
  models: LockedModel[];
}

/**
 * The digest over all files of a model: SHA-256 of one line per file, sorted by path,
 * `<sha256 hex> <size> <path>\n`. Any added, removed, renamed, resized or changed file changes it.
 */
export function modelDigest(files: readonly LockedFile[]): string {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256} ${f.size} ${f.path}\n`);
  return `sha256:${sha256Hex(lines.join(''))}`;
}

export function newLock(models: LockedModel[]): ModelsLock {
  return { kind: LOCK_KIND, version: LOCK_VERSION, hashAlgorithm: 'sha256', models };
}

/** The bytes a signature covers. */
export function canonicalLockBytes(lock: ModelsLock): Buffer {
  return Buffer.from(canonicalJson(lock), 'utf8');
}

/** Pretty, deterministic text for the file on disk (keys in canonical order). */
export function formatLock(lock: ModelsLock): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(lock)), null, 2)}\n`;
}

export async function readLock(path: string): Promise<ModelsLock> {
  return parseLock(await readTrustFile(path, MAX_LOCK_BYTES, 'bad-lock', 'lock'), path);
}

export function parseLock(bytes: Buffer | string, where = 'lock'): ModelsLock {
  if (bytes.length > MAX_LOCK_BYTES) throw new TrustError('bad-lock', `${where}: larger than ${MAX_LOCK_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new TrustError('bad-lock', `${where}: not valid JSON (${(err as Error).message})`);
  }
  const fail = (msg: string): never => {
    throw new TrustError('bad-lock', `${where}: ${msg}`);
  };
  const lock = value as Record<string, unknown>;
  if (!isPlainObject(lock)) fail('not a JSON object');
  onlyKeys(lock, ['kind', 'version', 'hashAlgorithm', 'models'], 'lock', fail);
  if (lock.kind !== LOCK_KIND) fail(`kind must be "${LOCK_KIND}"`);
  if (lock.version !== LOCK_VERSION) fail(`unsupported version ${JSON.stringify(lock.version)} (this build reads ${LOCK_VERSION})`);
  if (lock.hashAlgorithm !== 'sha256') fail('hashAlgorithm must be "sha256"');
  if (!Array.isArray(lock.models)) fail('models must be an array');
  const models = lock.models as unknown[];
  if (models.length > MAX_MODELS) fail(`more than ${MAX_MODELS} models`);
  const names = new Set<string>();
  models.forEach((m, i) => {
    const model = m as Record<string, unknown>;
    const at = `models[${i}]`;
    if (!isPlainObject(model)) fail(`${at} is not an object`);
    onlyKeys(model, ['name', 'source', 'lockedAt', 'digest', 'files'], at, fail);
    for (const key of ['name', 'source', 'lockedAt', 'digest']) {
      if (typeof model[key] !== 'string' || (model[key] as string).length === 0) fail(`${at}.${key} must be a non-empty string`);
    }
    const name = model.name as string;
    if (names.has(name)) fail(`duplicate model name "${name}"`);
    names.add(name);
    if (!Array.isArray(model.files) || model.files.length === 0) fail(`${at}.files must be a non-empty array`);
    const files = model.files as unknown[];
    if (files.length > MAX_FILES_PER_MODEL) fail(`${at} has more than ${MAX_FILES_PER_MODEL} files`);
    const paths = new Set<string>();
    files.forEach((f, j) => {
      const file = f as Record<string, unknown>;
      const fat = `${at}.files[${j}]`;
      if (!isPlainObject(file)) fail(`${fat} is not an object`);
      onlyKeys(file, ['path', 'size', 'sha256'], fat, fail);
      const problem = relativePathProblem(file.path);
      if (problem) fail(`${fat}.path ${problem}`);
      if (paths.has(file.path as string)) fail(`${at} lists "${file.path}" twice`);
      paths.add(file.path as string);
      if (!Number.isSafeInteger(file.size) || (file.size as number) < 0) fail(`${fat}.size must be a non-negative integer`);
      if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) fail(`${fat}.sha256 must be 64 lowercase hex digits`);
    });
    // The per-model digest is redundant with the file list; a mismatch means the lock was edited by hand.
    if (model.digest !== modelDigest(files as LockedFile[])) fail(`${at}.digest does not match its files (edited by hand?)`);
  });
  return lock as unknown as ModelsLock;
}

/** Why `p` is not a safe relative path inside a model directory, or undefined when it is. */
export function relativePathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'must be a non-empty string';
  if (p.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH}`;
  if (p.includes('\0') || p.includes('\\')) return 'must not contain NUL or backslash';
  if (p.startsWith('/')) return 'must be relative';
  if (p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return 'must not contain empty, "." or ".." segments';
  return undefined;
}

export function findModel(lock: ModelsLock, name: string): LockedModel | undefined {
  return lock.models.find((m) => m.name === name);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: string[], at: string, fail: (m: string) => never): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) fail(`${at} has unknown field "${key}"`);
}
