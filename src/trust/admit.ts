// The one call the gateway makes before serving a local model: hash check against the lock first
// (no parser has read a byte yet), then the format guards (safetensors/GGUF validation, pickle refusal).
import { TrustError } from './errors.ts';
import { guardModelFiles, type GuardedFormat } from './formats/index.ts';
import { newLock, type ModelsLock } from './lockfile.ts';
import { verifyArtifact } from './verify.ts';

export interface AdmitOptions {
  allowUnpinned?: boolean; // serve artifacts the lock does not list (they are still format-guarded)
  allowPickle?: boolean; // serve pickle-based checkpoints (arbitrary code execution on load)
}

export interface Admission {
  pinned: boolean;
  formats: Map<string, GuardedFormat>;
}

export async function admitModel(path: string, lock: ModelsLock | string | undefined, opts: AdmitOptions = {}): Promise<Admission> {
  if (lock === undefined && !opts.allowUnpinned) {
    throw new TrustError('unpinned', `no lock given for ${path}; lock it with 'inferstack models lock' or allow unpinned models explicitly`);
  }
  const verdict = await verifyArtifact(path, lock ?? newLock([]), opts);
  return { pinned: verdict.pinned, formats: await guardModelFiles(verdict.files, opts) };
}
