// Re-hashing locked artifacts. Every check streams the file and compares size and SHA-256 with the
// lock; the first mismatch throws a TrustError naming the file.
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { TrustError } from './errors.ts';
import { hashFile } from './hash.ts';
import { isUrlSource, listModelFiles } from './lock-create.ts';
import { readLock, type LockedFile, type LockedModel, type ModelsLock } from './lockfile.ts';
import { blobPath } from './mirror.ts';

export interface VerifyReport {
  files: number;
  bytes: number;
}

export function lockedFilePath(model: LockedModel, file: LockedFile): string {
  return join(model.source, ...file.path.split('/'));
}

/**
 * Files this process has fully hashed and found matching, by path: identity (device, inode, size,
 * mtime and ctime in nanoseconds) plus the digest. Any write, truncate, rename-over or chmod changes
 * ctime, which user space cannot set back, so an unchanged identity means unchanged bytes and a
 * model reloaded after scale-to-zero need not be hashed again.
 * Racy files (git's term) are not remembered: the kernel stamps ctime from a coarse clock, so a file
 * changed within `racyMs` of its last change might keep the same ctime; only settled files are cached.
 */
export class VerifiedCache {
  static readonly MAX_ENTRIES = 100_000;
  readonly racyMs: number;
  readonly entries = new Map<string, string>();
  constructor(racyMs = 2_000) {
    this.racyMs = racyMs;
  }
  has(path: string, key: string): boolean {
    return this.entries.get(path) === key;
  }
  remember(path: string, key: string, ctimeMs: number, now = Date.now()): void {
    if (now - ctimeMs < this.racyMs) return;
    if (this.entries.size >= VerifiedCache.MAX_ENTRIES) this.entries.clear();
    this.entries.set(path, key);
  }
  forget(path: string): void {
    this.entries.delete(path);
  }
}

/** Check one file against its lock entry: size first (cheap), then a streaming SHA-256. Returns bytes hashed. */
export async function verifyFile(path: string, expected: LockedFile, label = path, cache?: VerifiedCache): Promise<number> {
  const identity = async () => {
    const info = await stat(path, { bigint: true });
    if (!info.isFile()) throw new TrustError('missing-file', `${label}: not a regular file`);
    return { size: Number(info.size), ctimeMs: Number(info.ctimeMs), key: `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}:${expected.sha256}` };
  };
  let before: { size: number; ctimeMs: number; key: string };
  try {
    before = await identity();
  } catch (err) {
    if (err instanceof TrustError) throw err;
    throw new TrustError('missing-file', `${label}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message}`);
  }
  if (before.size !== expected.size) throw new TrustError('hash-mismatch', `${label}: ${before.size} bytes, the lock says ${expected.size}`);
  if (cache?.has(path, before.key)) return 0;
  const actual = await hashFile(path);
  if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
    cache?.forget(path);
    throw new TrustError('hash-mismatch', `${label}: sha256 ${actual.sha256} does not match the lock (${expected.sha256})`);
  }
  if (cache) {
    // Remember only if nothing changed while we were hashing.
    const after = await identity().catch(() => undefined);
    if (after?.key === before.key) cache.remember(path, before.key, before.ctimeMs);
  }
  return actual.size;
}

/**
 * `models verify`: re-hash every file of every model (or of `models`), from the locked sources, from
 * another base directory with the same layout (`from`: the models were moved), or from a mirror.
 * Stops at the first mismatch.
 */
export async function verifyLock(lock: ModelsLock, opts: { mirror?: string; from?: string; models?: string[] } = {}): Promise<VerifyReport> {
  const wanted = opts.models ? new Set(opts.models) : undefined;
  for (const name of wanted ?? []) {
    if (!lock.models.some((m) => m.name === name)) throw new TrustError('unpinned', `model "${name}" is not in the lock`);
  }
  const report: VerifyReport = { files: 0, bytes: 0 };
  for (const model of lock.models) {
    if (wanted && !wanted.has(model.name)) continue;
    if (!opts.mirror && !opts.from && isUrlSource(model.source)) {
      throw new TrustError('source', `model "${model.name}" was locked from ${model.source}; pull it and verify the mirror copy with --mirror`);
    }
    for (const file of model.files) {
      const path = opts.mirror ? blobPath(opts.mirror, file.sha256) : lockedFilePath(opts.from ? { ...model, source: opts.from } : model, file);
      await verifyFile(path, file, `${model.name}/${file.path}`);
      report.files += 1;
      report.bytes += file.size;
    }
  }
  return report;
}

export interface ArtifactVerdict {
  pinned: boolean; // false: not in the lock, admitted only because unpinned models were allowed
  files: string[]; // absolute paths that were verified (or that an unpinned directory holds)
  hashedBytes: number; // bytes hashed now (files unchanged since a cached verification are not re-hashed)
}

export interface VerifyArtifactOptions {
  allowUnpinned?: boolean;
  cache?: VerifiedCache;
  /**
   * Check `path` as the locked model of this name wherever it now lives (a lock made on a build machine,
   * models deployed elsewhere): a directory against all its files, a file against the model's file of
   * that name (or its only file). Without it, `path` is matched by the locked source paths and digests.
   */
  model?: string;
}

/**
 * What the gateway calls before serving a local model, before any parser reads it. `path` is a model
 * directory, one file of a model, or a mirror blob. Pinned artifacts must match the lock byte for byte
 * (always, even when unpinned models are allowed); artifacts the lock does not know are refused unless
 * `allowUnpinned`. A locked directory must not hold files the lock does not list.
 */
export async function verifyArtifact(path: string, lockOrPath: ModelsLock | string, opts: VerifyArtifactOptions = {}): Promise<ArtifactVerdict> {
  const lock = typeof lockOrPath === 'string' ? await readLock(lockOrPath) : lockOrPath;
  const target = resolve(path);
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new TrustError('missing-file', `${target}: no such file or directory`);

  if (opts.model !== undefined) {
    const model = lock.models.find((m) => m.name === opts.model);
    if (!model) return unpinned(`model "${opts.model}" (${target})`, opts, info.isDirectory() ? (await listModelFiles(target)).map((r) => join(target, r)) : [target]);
    const placed = { ...model, source: info.isDirectory() ? target : dirname(target) };
    if (info.isDirectory()) return { pinned: true, ...(await verifyDirectory(target, [placed], opts.cache)) };
    const file = model.files.length === 1 ? model.files[0]! : model.files.find((f) => f.path === basename(target));
    if (!file) return unpinned(`${target} (not a file of model "${model.name}")`, opts, [target]);
    return { pinned: true, files: [target], hashedBytes: await verifyFile(target, file, `${model.name}/${file.path}`, opts.cache) };
  }

  if (info.isDirectory()) {
    const models = lock.models.filter((m) => m.source === target);
    if (models.length > 0) return { pinned: true, ...(await verifyDirectory(target, models, opts.cache)) };
    return unpinned(target, opts, (await listModelFiles(target)).map((r) => join(target, r)));
  }

  // A file of a locked model?
  for (const model of lock.models) {
    if (!target.startsWith(model.source + sep)) continue;
    const rel = target.slice(model.source.length + 1).split(sep).join('/');
    const file = model.files.find((f) => f.path === rel);
    if (file) {
      const hashedBytes = await verifyFile(target, file, `${model.name}/${file.path}`, opts.cache);
      return { pinned: true, files: [target], hashedBytes };
    }
  }
  // A mirror blob is named by its digest: it is pinned when the lock lists that digest.
  const name = basename(target);
  if (/^[0-9a-f]{64}$/.test(name)) {
    for (const model of lock.models) {
      const file = model.files.find((f) => f.sha256 === name);
      if (file) {
        const hashedBytes = await verifyFile(target, file, `${model.name}/${file.path} (${target})`, opts.cache);
        return { pinned: true, files: [target], hashedBytes };
      }
    }
  }
  return unpinned(target, opts, [target]);
}

async function verifyDirectory(dir: string, models: LockedModel[], cache?: VerifiedCache): Promise<{ files: string[]; hashedBytes: number }> {
  const listed = new Map<string, { model: LockedModel; file: LockedFile }>();
  for (const model of models) for (const file of model.files) listed.set(file.path, { model, file });
  // Extra files first: cheap, and a planted file (code, a second weights file) is a refusal too.
  for (const rel of await listModelFiles(dir)) {
    if (!listed.has(rel)) throw new TrustError('unpinned', `${join(dir, rel)} is not in the lock (a locked model directory may hold only locked files)`);
  }
  const files: string[] = [];
  let hashedBytes = 0;
  for (const { model, file } of listed.values()) {
    const path = lockedFilePath(model, file);
    hashedBytes += await verifyFile(path, file, `${model.name}/${file.path}`, cache);
    files.push(path);
  }
  return { files, hashedBytes };
}

function unpinned(target: string, opts: { allowUnpinned?: boolean }, files: string[]): ArtifactVerdict {
  if (!opts.allowUnpinned) {
    throw new TrustError('unpinned', `${target} is not in the lock; lock it with 'inferstack models lock' or allow unpinned models explicitly`);
  }
  return { pinned: false, files, hashedBytes: 0 };
}
