// Read a small file (a lock, a signature, a key) whole, refusing it before reading when it is larger
// than `maxBytes`: a path pointing at a multi-gigabyte file must not exhaust memory.
import { open } from 'node:fs/promises';
import { TrustError, type TrustErrorCode } from './errors.ts';

export class TooLargeError extends Error {}

export async function readBounded(path: string, maxBytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new TooLargeError(`${path}: ${size} bytes, larger than the ${maxBytes}-byte limit`);
    // Read at most maxBytes + 1 even if the file grew since stat, so growth is caught too.
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buf.length) break;
    }
    if (filled > maxBytes) throw new TooLargeError(`${path}: larger than the ${maxBytes}-byte limit`);
    return buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}

/** readBounded for the trust layer's own files: any failure is a one-line TrustError with `code`. */
export async function readTrustFile(path: string, maxBytes: number, code: TrustErrorCode, what: string): Promise<Buffer> {
  try {
    return await readBounded(path, maxBytes);
  } catch (err) {
    if (err instanceof TooLargeError) throw new TrustError(code, err.message);
    throw new TrustError(code, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
