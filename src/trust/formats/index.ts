// Format guards: each model file is checked by the validator for its format before an engine parses it.
// Order of checks per file: pickle (refused unless allowed), safetensors header, GGUF structure
// (the embedded engine's validator, src/trust/gguf.ts). Other files (JSON configs, tokenizers) pass.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { TrustError } from '../errors.ts';
import { GgufError, validateGguf } from '../gguf.ts';
import { isPickle, pickleRefusal } from './pickle.ts';
import { validateSafetensorsFile } from './safetensors.ts';

export type GuardedFormat = 'safetensors' | 'gguf' | 'pickle' | 'other';

export interface GuardOptions {
  allowPickle?: boolean;
}

async function readMagic(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function guardModelFile(path: string, opts: GuardOptions = {}): Promise<GuardedFormat> {
  const ext = extname(path).toLowerCase();
  const magic = await readMagic(path);
  if (isPickle(path, magic)) {
    if (!opts.allowPickle) throw pickleRefusal(path);
    return 'pickle';
  }
  if (ext === '.safetensors') {
    await validateSafetensorsFile(path);
    return 'safetensors';
  }
  if (ext === '.gguf' || magic.toString('latin1') === 'GGUF') {
    try {
      await validateGguf(path);
    } catch (err) {
      if (err instanceof GgufError) throw new TrustError('bad-format', `${path}: ${err.message}`);
      throw err;
    }
    return 'gguf';
  }
  return 'other';
}

export async function guardModelFiles(paths: readonly string[], opts: GuardOptions = {}): Promise<Map<string, GuardedFormat>> {
  const out = new Map<string, GuardedFormat>();
  for (const p of paths) out.set(p, await guardModelFile(p, opts));
  return out;
}
