// Content-addressed local mirror: every blob lives at <mirror>/sha256/<first two hex>/<hex>.
// A blob appears under that name only after its bytes were hashed while copying and matched the lock
// (write to <name>.partial, fsync, verify, rename). An interrupted pull leaves the .partial file;
// the next pull re-hashes what is there and continues from its length.
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fsyncDir } from './atomic-write.ts';
import { TrustError } from './errors.ts';
import { hashInto } from './hash.ts';
import { acquireWriterLock } from './writer-lock.ts';
import type { LockedFile, ModelsLock } from './lockfile.ts';
import { openSource, type ByteSource } from './sources.ts';

export function defaultMirrorDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.INFERSTACK_MIRROR) return env.INFERSTACK_MIRROR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'inferstack', 'mirror');
}

export function blobPath(mirror: string, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TrustError('bad-lock', `not a sha256 digest: ${sha256}`);
  return join(mirror, 'sha256', sha256.slice(0, 2), sha256);
}

export type PullOutcome = 'present' | 'copied' | 'resumed';

export interface PullReport {
  files: number;
  present: number;
  copied: number;
  resumed: number;
  bytesCopied: number;
}

export interface PullOptions {
  mirror: string;
  from?: string; // read every model from this base (directory or http(s) URL) instead of its locked source
  onFile?: (model: string, file: LockedFile, outcome: PullOutcome) => void;
}

export async function pullLock(lock: ModelsLock, opts: PullOptions): Promise<PullReport> {
  const report: PullReport = { files: 0, present: 0, copied: 0, resumed: 0, bytesCopied: 0 };
  for (const model of lock.models) {
    const source = openSource(opts.from ?? model.source);
    for (const file of model.files) {
      const { outcome, bytes } = await pullFile(source, file, opts.mirror);
      report.files += 1;
      report[outcome] += 1;
      report.bytesCopied += bytes;
      opts.onFile?.(model.name, file, outcome);
    }
  }
  return report;
}

/** A blob already in place with the locked size counts as present (it was verified when written). */
async function presentBlob(final: string, file: LockedFile): Promise<boolean> {
  const existing = await stat(final).catch(() => undefined);
  // `models verify --mirror` re-hashes blobs at rest.
  if (existing?.isFile() && existing.size === file.size) return true;
  if (existing) throw new TrustError('hash-mismatch', `${final} exists but has ${existing.size} bytes, the lock says ${file.size}; remove it`);
  return false;
}

/** Copy one locked file into the mirror, hashing while copying. Returns what happened and bytes copied. */
export async function pullFile(source: ByteSource, file: LockedFile, mirror: string): Promise<{ outcome: PullOutcome; bytes: number }> {
  const final = blobPath(mirror, file.sha256);
  if (await presentBlob(final, file)) return { outcome: 'present', bytes: 0 };
  await mkdir(dirname(final), { recursive: true });
  const partial = `${final}.partial`;
  const release = await acquireWriterLock(`${partial}.lock`, partial);
  try {
    // Another pull may have finished this blob before we took the lock.
    if (await presentBlob(final, file)) return { outcome: 'present', bytes: 0 };
    return await copyToBlob(source, file, partial, final);
  } finally {
    await release();
  }
}

async function copyToBlob(source: ByteSource, file: LockedFile, partial: string, final: string): Promise<{ outcome: PullOutcome; bytes: number }> {
  const fh = await open(partial, 'a+', 0o644); // 'a+': read what is there, append the rest
  let copied = 0;
  let resumedFrom = 0;
  try {
    let have = (await fh.stat()).size;
    if (have > file.size) {
      await fh.truncate(0);
      have = 0;
    }
    let hash = createHash('sha256');
    if (have > 0) resumedFrom = await hashInto(fh, hash); // re-verify the kept prefix by hashing it again
    if (have < file.size) {
      const { body, offset } = await source.read(file.path, have);
      if (offset !== have) {
        // The source cannot start mid-file: begin again.
        await fh.truncate(0);
        hash = createHash('sha256');
        resumedFrom = 0;
      }
      let written = offset;
      try {
        for await (const chunk of body) {
          written += chunk.length;
          if (written > file.size) {
            await fh.truncate(0);
            throw new TrustError('hash-mismatch', `${source.describe(file.path)} is larger than the ${file.size} bytes in the lock`);
          }
          hash.update(chunk);
          await fh.write(chunk);
          copied += chunk.length;
        }
      } catch (err) {
        if (err instanceof TrustError) throw err;
        await fh.sync().catch(() => {});
        throw new TrustError('source', `reading ${source.describe(file.path)} failed at byte ${written} of ${file.size} (${(err as Error).message}); the partial copy is kept, pull again to resume`);
      }
      await fh.sync();
      if (written < file.size) {
        throw new TrustError('source', `${source.describe(file.path)} ended at ${written} of ${file.size} bytes; the partial copy is kept, pull again to resume`);
      }
    }
    const actual = hash.digest('hex');
    if (actual !== file.sha256) {
      await fh.close();
      await rm(partial, { force: true });
      throw new TrustError('hash-mismatch', `${source.describe(file.path)}: sha256 ${actual} does not match the lock (${file.sha256})`);
    }
  } finally {
    await fh.close().catch(() => {});
  }
  await chmod(partial, 0o444); // blobs are immutable: a write to one is a mistake or an attack
  await rename(partial, final);
  await fsyncDir(dirname(final));
  return { outcome: resumedFrom > 0 ? 'resumed' : 'copied', bytes: copied };
}
