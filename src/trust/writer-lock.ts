// One writer per partial file. Two pulls appending to the same .partial would interleave bytes, and a
// writer still appending after the other renamed the (same) inode into place would corrupt a finished
// blob. The lock is a file created exclusively, holding the writer's pid; a lock whose process is gone
// is stale and taken over. (pids are per host: a mirror shared over NFS needs one puller at a time.)
import { open, readFile, rm } from 'node:fs/promises';
import { TrustError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Take the lock at `path` or throw; resolves to the function that releases it. */
export async function acquireWriterLock(path: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
      throw new TrustError('source', `another pull (pid ${pid}) is writing ${what}; wait for it to finish (or remove ${path} if that process is not a pull)`);
    }
    await rm(path, { force: true }); // stale: its writer is gone
  }
  throw new TrustError('source', `cannot take the writer lock ${path}`);
}
