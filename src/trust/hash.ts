// Streaming SHA-256 of files. Reads run on libuv's thread pool while the previous chunk is hashed on
// this thread (double buffering), so hashing a large file costs about max(read, hash), not the sum.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface FileDigest {
  sha256: string; // lowercase hex
  size: number;
}

/** Hash a file from `start` (default 0) to its end into `hash`; returns the number of bytes hashed. */
export async function hashInto(fh: FileHandle, hash: Hash, start = 0, chunkBytes = CHUNK_BYTES): Promise<number> {
  const buffers = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  let position = start;
  let which = 0;
  let pending = fh.read(buffers[which]!, 0, chunkBytes, position);
  for (;;) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) break;
    const current = buffers[which]!;
    position += bytesRead;
    which ^= 1;
    // Start the next read before hashing this chunk; the two buffers never alias.
    pending = fh.read(buffers[which]!, 0, chunkBytes, position);
    hash.update(current.subarray(0, bytesRead));
  }
  return position - start;
}

export async function hashFile(path: string): Promise<FileDigest> {
  const fh = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const size = await hashInto(fh, hash);
    return { sha256: hash.digest('hex'), size };
  } finally {
    await fh.close();
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
