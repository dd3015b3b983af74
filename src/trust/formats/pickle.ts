// Pickle-based checkpoints (PyTorch .bin/.pt/.pth, .pkl, .ckpt) are programs, not data: unpickling
// calls any importable function the file names (os.system included). They are refused unless the
// operator explicitly allows them.
import { extname } from 'node:path';
import { TrustError } from '../errors.ts';

export const PICKLE_EXTENSIONS: ReadonlySet<string> = new Set(['.bin', '.pt', '.pth', '.pkl', '.pickle', '.ckpt', '.joblib']);

/** Pickle protocol 2+ starts with PROTO (0x80) and the protocol number. */
export function looksLikePickle(magic: Uint8Array): boolean {
  return magic.length >= 2 && magic[0] === 0x80 && magic[1]! >= 2 && magic[1]! <= 5;
}

export function isPickle(path: string, magic: Uint8Array): boolean {
  return PICKLE_EXTENSIONS.has(extname(path).toLowerCase()) || looksLikePickle(magic);
}

export function pickleRefusal(path: string): TrustError {
  return new TrustError(
    'unsafe-format',
    `refusing ${path}: pickle-based formats (${[...PICKLE_EXTENSIONS].join(' ')}) can run arbitrary code when loaded; ` +
      'convert it to safetensors or GGUF, or allow pickle explicitly if you trust its author',
  );
}
