// Polls `ok` until it holds, failing the test after `ms` with what it was waiting for.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
