// The one call the gateway makes before serving a local model: hash check against the lock first
// (no parser has read a byte yet), then the format guards (safetensors/GGUF validation, pickle refusal).
import { TrustError } from './errors.ts';
import { guardModelFiles, type GuardedFormat } from './formats/index.ts';
import { newLock, readLock, type ModelsLock } from './lockfile.ts';
import { VerifiedCache, verifyArtifact } from './verify.ts';

export interface AdmitOptions {
  allowUnpinned?: boolean; // serve artifacts the lock does not list (they are still format-guarded)
  allowPickle?: boolean; // serve pickle-based checkpoints (arbitrary code execution on load)
  cache?: VerifiedCache; // skip re-hashing files unchanged since this process last verified them
  model?: string; // check `path` as this locked model wherever it lives (see verifyArtifact)
}

export interface Admission {
  pinned: boolean;
  formats: Map<string, GuardedFormat>;
  hashedBytes: number;
}

export async function admitModel(path: string, lock: ModelsLock | string | undefined, opts: AdmitOptions = {}): Promise<Admission> {
  if (lock === undefined && !opts.allowUnpinned) {
    throw new TrustError('unpinned', `no lock given for ${path}; lock it with 'inferstack models lock' or allow unpinned models explicitly`);
  }
  const verdict = await verifyArtifact(path, lock ?? newLock([]), opts);
  return { pinned: verdict.pinned, formats: await guardModelFiles(verdict.files, opts), hashedBytes: verdict.hashedBytes };
}

/** Check `path` (as locked model `model`, when given) before loading it. */
export type ModelGate = (path: string, model?: string) => Promise<Admission>;

/**
 * For `serve`: read the lock once at startup (a bad lock fails startup, not the first request) and
 * return the check to run before every model load. Loads after the first skip re-hashing files that
 * are unchanged since (see VerifiedCache); the format guards run every time.
 */
export async function createModelGate(opts: { lock?: string; allowUnpinned?: boolean; allowPickle?: boolean; cache?: VerifiedCache }): Promise<ModelGate> {
  const lock = opts.lock === undefined ? undefined : await readLock(opts.lock);
  if (lock === undefined && !opts.allowUnpinned) throw new TrustError('unpinned', 'no lock given: pass a models.lock, or allow unpinned models explicitly');
  const cache = opts.cache ?? new VerifiedCache();
  return (path, model) => admitModel(path, lock, { allowUnpinned: opts.allowUnpinned, allowPickle: opts.allowPickle, cache, model });
}
