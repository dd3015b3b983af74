// Building a lock from local paths: walk each model directory, hash every regular file (streaming).
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { hashFile } from './hash.ts';
import { TrustError } from './errors.ts';
import { createHash } from 'node:crypto';
import { MAX_FILES_PER_MODEL, modelDigest, relativePathProblem, type LockedFile, type LockedModel } from './lockfile.ts';
import { openSource } from './sources.ts';

// Tool metadata that is not part of a model: never locked, never required.
export const IGNORED_NAMES: ReadonlySet<string> = new Set(['.git', '.cache', '.DS_Store']);
const MAX_DEPTH = 32;

/** The regular files under a model directory, relative and sorted. Symbolic links are refused. */
export async function listModelFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  await walk(root, '', 0, out);
  if (out.length === 0) throw new TrustError('bad-lock', `${root} contains no files`);
  return out.sort();
}

async function walk(root: string, rel: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_DEPTH) throw new TrustError('bad-lock', `${join(root, rel)} is nested deeper than ${MAX_DEPTH} levels`);
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const entry of entries) {
    if (IGNORED_NAMES.has(entry.name)) continue;
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isSymbolicLink()) {
      // A link can point anywhere (outside the model, at a file that changes later): refuse it.
      throw new TrustError('bad-lock', `${join(root, childRel)} is a symbolic link; symbolic links are not locked`);
    }
    if (entry.isDirectory()) await walk(root, childRel, depth + 1, out);
    else if (entry.isFile()) {
      out.push(childRel);
      if (out.length > MAX_FILES_PER_MODEL) throw new TrustError('bad-lock', `${root} has more than ${MAX_FILES_PER_MODEL} files`);
    }
  }
}

/**
 * Lock one model. A directory becomes a model of all its files (source = the directory); a single
 * file becomes a model of that file alone (source = its directory, so every source is a base that
 * file paths are relative to).
 */
export async function lockModel(path: string, opts: { name?: string; now?: Date } = {}): Promise<LockedModel> {
  if (/^https?:\/\//i.test(path)) return lockUrl(path, opts);
  const target = resolve(path);
  const info = await statOrThrow(target);
  if (info.isSymbolicLink()) throw new TrustError('bad-lock', `${target} is a symbolic link; lock its target instead`);
  let source: string;
  let rels: string[];
  if (info.isFile()) {
    source = dirname(target);
    rels = [basename(target)];
  } else if (info.isDirectory()) {
    source = target;
    rels = await listModelFiles(target);
  } else {
    throw new TrustError('bad-lock', `${target} is neither a file nor a directory`);
  }
  const files: LockedFile[] = [];
  for (const rel of rels) {
    const { sha256, size } = await hashFile(join(source, ...rel.split('/')));
    files.push({ path: rel, size, sha256 });
  }
  return {
    name: opts.name ?? basename(target),
    source,
    lockedAt: (opts.now ?? new Date()).toISOString(),
    digest: modelDigest(files),
    files,
  };
}

/**
 * Lock one file served over http(s) by streaming it through the hash (nothing is stored). The source is
 * the URL's directory, so `models pull` fetches the same URL; verify such a model from the mirror.
 */
export async function lockUrl(url: string, opts: { name?: string; now?: Date } = {}): Promise<LockedModel> {
  const parsed = new URL(url);
  const slash = parsed.pathname.lastIndexOf('/');
  const rel = decodeURIComponent(parsed.pathname.slice(slash + 1));
  const problem = relativePathProblem(rel) ?? (rel.includes('/') ? 'must not contain an encoded "/"' : undefined);
  if (problem) throw new TrustError('bad-lock', `${url}: a URL locks one file, and its name ${problem}`);
  const source = new URL(parsed.pathname.slice(0, slash + 1), parsed.origin).href;
  const { body } = await openSource(source).read(rel, 0);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (err) {
    throw new TrustError('source', `reading ${url} failed after ${size} bytes: ${(err as Error).message}`);
  }
  const files: LockedFile[] = [{ path: rel, size, sha256: hash.digest('hex') }];
  return { name: opts.name ?? rel, source, lockedAt: (opts.now ?? new Date()).toISOString(), digest: modelDigest(files), files };
}

export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

async function statOrThrow(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    throw new TrustError('missing-file', `${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}
