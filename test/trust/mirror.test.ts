import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { TrustError } from '../../src/trust/errors.ts';
import { lockModel } from '../../src/trust/lock-create.ts';
import { newLock, type ModelsLock } from '../../src/trust/lockfile.ts';
import { blobPath, defaultMirrorDir, pullLock } from '../../src/trust/mirror.ts';
import { verifyLock } from '../../src/trust/verify.ts';
import { makeModel, tempDir } from './fixtures.ts';

function weightsOf(lock: ModelsLock) {
  return lock.models[0]!.files.find((f) => f.path === 'model.safetensors')!;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test('pull copies every file to its content address, read-only, and a second pull copies nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const first = await pullLock(lock, { mirror });
    assert.deepEqual({ ...first, bytesCopied: 0 }, { files: 4, present: 0, copied: 4, resumed: 0, bytesCopied: 0 });
    for (const f of lock.models[0]!.files) {
      const blob = blobPath(mirror, f.sha256);
      assert.deepEqual(readFileSync(blob), readFileSync(join(model, f.path)));
      assert.equal(statSync(blob).mode & 0o777, 0o444);
    }
    assert.equal(allFiles(mirror).length, 4);
    const second = await pullLock(lock, { mirror });
    assert.equal(second.present, 4);
    assert.equal(second.bytesCopied, 0);
    assert.equal((await verifyLock(lock, { mirror })).files, 4);
  } finally {
    cleanup();
  }
});

test('an interrupted pull resumes from the partial file, re-hashing what was kept', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const w = weightsOf(lock);
    const bytes = readFileSync(join(model, 'model.safetensors'));
    const partial = `${blobPath(mirror, w.sha256)}.partial`;
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, bytes.subarray(0, 1000));
    const outcomes: string[] = [];
    const report = await pullLock(lock, { mirror, onFile: (_m, f, o) => f.path === 'model.safetensors' && outcomes.push(o) });
    assert.deepEqual(outcomes, ['resumed']);
    assert.equal(report.resumed, 1);
    assert.deepEqual(readFileSync(blobPath(mirror, w.sha256)), bytes);
    assert.equal(existsSync(partial), false);
  } finally {
    cleanup();
  }
});

test('a corrupt partial file is caught by the re-hash: nothing under the final name, partial removed, next pull succeeds', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const w = weightsOf(lock);
    const partial = `${blobPath(mirror, w.sha256)}.partial`;
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, Buffer.alloc(1000, 0x41)); // wrong bytes
    await assert.rejects(pullLock(lock, { mirror }), (e: unknown) => e instanceof TrustError && e.code === 'hash-mismatch');
    assert.equal(existsSync(blobPath(mirror, w.sha256)), false);
    assert.equal(existsSync(partial), false);
    await pullLock(lock, { mirror });
    assert.deepEqual(readFileSync(blobPath(mirror, w.sha256)), readFileSync(join(model, 'model.safetensors')));
  } finally {
    cleanup();
  }
});

test('a source that differs from the lock never reaches the mirror', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    writeFileSync(join(model, 'config.json'), '{"architectures":["Evil"],"hidden_size":32,"seed":1}'); // same-ish size, other bytes
    await assert.rejects(pullLock(lock, { mirror }), /config\.json: sha256 [0-9a-f]+ does not match the lock|larger than|ended at/);
    assert.equal(allFiles(mirror).filter((p) => !p.endsWith('.partial')).some((p) => p.includes(lock.models[0]!.files[0]!.sha256)), false);
    writeFileSync(join(model, 'config.json'), Buffer.alloc(10_000)); // larger than locked: stopped, not copied whole
    await assert.rejects(pullLock(lock, { mirror }), /larger than the \d+ bytes in the lock/);
  } finally {
    cleanup();
  }
});

test('one writer per partial file: a live writer blocks a second pull, a dead writer\'s lock is taken over', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const w = weightsOf(lock);
    const writerLock = `${blobPath(mirror, w.sha256)}.partial.lock`;
    mkdirSync(dirname(writerLock), { recursive: true });
    writeFileSync(writerLock, String(process.pid)); // a live process holds it
    await assert.rejects(pullLock(lock, { mirror }), new RegExp(`another pull \\(pid ${process.pid}\\) is writing .*\\.partial; wait for it to finish`));
    assert.equal(existsSync(blobPath(mirror, w.sha256)), false);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its lock is stale
    writeFileSync(writerLock, String(dead));
    assert.equal((await pullLock(lock, { mirror })).files, 4);
    assert.equal(existsSync(writerLock), false);
    assert.deepEqual(readFileSync(blobPath(mirror, w.sha256)), readFileSync(join(model, 'model.safetensors')));
  } finally {
    cleanup();
  }
});

test('concurrent pulls of one lock into one mirror end with every blob correct', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = makeModel(dir);
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const results = await Promise.allSettled([pullLock(lock, { mirror }), pullLock(lock, { mirror }), pullLock(lock, { mirror })]);
    for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /another pull .* is writing/);
    await pullLock(lock, { mirror }); // whatever a blocked pull skipped
    assert.equal((await verifyLock(lock, { mirror })).files, 4);
    assert.deepEqual(allFiles(mirror).filter((p) => /\.(partial|lock)$/.test(p)), []);
  } finally {
    cleanup();
  }
});

/** A loopback file server with Range support; `cutAfter` bytes into a body it drops the connection once. */
async function fileServer(root: string, opts: { cutAfter?: number; ignoreRange?: boolean } = {}): Promise<{ server: Server; url: string; ranges: string[] }> {
  const ranges: string[] = [];
  let cut = opts.cutAfter;
  const server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(path);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) ranges.push(req.headers.range!);
    if (range && !opts.ignoreRange) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    if (cut !== undefined && body.length > cut) {
      res.write(body.subarray(0, cut), () => res.destroy());
      cut = undefined;
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, ranges };
}

test('pull over HTTP: a dropped connection leaves a partial, the next pull resumes with a Range request', async () => {
  const { dir, cleanup } = tempDir();
  const model = makeModel(dir);
  const { server, url, ranges } = await fileServer(model, { cutAfter: 3000 });
  try {
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const w = weightsOf(lock);
    await assert.rejects(pullLock(lock, { mirror, from: url }), /failed at byte \d+ of \d+ .*the partial copy is kept, pull again to resume/);
    assert.equal(existsSync(blobPath(mirror, w.sha256)), false); // never a partial file under the final name
    assert.ok(statSync(`${blobPath(mirror, w.sha256)}.partial`).size > 0);
    const report = await pullLock(lock, { mirror, from: url });
    assert.equal(report.resumed, 1);
    assert.ok(ranges.some((r) => /^bytes=[1-9]\d*-$/.test(r)), `ranges: ${ranges}`);
    assert.equal((await verifyLock(lock, { mirror })).files, 4);
  } finally {
    server.close();
    cleanup();
  }
});

test('pull over HTTP from a server that ignores Range starts the file again and still verifies', async () => {
  const { dir, cleanup } = tempDir();
  const model = makeModel(dir);
  const { server, url } = await fileServer(model, { ignoreRange: true });
  try {
    const lock = newLock([await lockModel(model)]);
    const mirror = join(dir, 'mirror');
    const w = weightsOf(lock);
    const partial = `${blobPath(mirror, w.sha256)}.partial`;
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, readFileSync(join(model, 'model.safetensors')).subarray(0, 500));
    const report = await pullLock(lock, { mirror, from: url });
    assert.equal(report.copied, 4);
    assert.equal((await verifyLock(lock, { mirror })).files, 4);
    await assert.rejects(pullLock(newLock([{ ...lock.models[0]!, files: [{ ...w, sha256: 'a'.repeat(64), path: 'absent.bin' }] }]), { mirror, from: url }), /HTTP 404/);
  } finally {
    server.close();
    cleanup();
  }
});

test('a file locked from a URL records the URL as its source; pull fetches it; verify needs the mirror', async () => {
  const { dir, cleanup } = tempDir();
  const model = makeModel(dir);
  const { server, url } = await fileServer(model);
  try {
    const fromUrl = await lockModel(`${url}model.safetensors`);
    const local = await lockModel(join(model, 'model.safetensors'));
    assert.equal(fromUrl.name, 'model.safetensors');
    assert.equal(fromUrl.source, url);
    assert.deepEqual(fromUrl.files, local.files);
    const lock = newLock([fromUrl]);
    await assert.rejects(verifyLock(lock), /was locked from http:\/\/127\.0\.0\.1:\d+\/; pull it and verify the mirror copy with --mirror/);
    const mirror = join(dir, 'mirror');
    assert.equal((await pullLock(lock, { mirror })).copied, 1);
    assert.equal((await verifyLock(lock, { mirror })).files, 1);
    await assert.rejects(lockModel(`${url}absent.gguf`), /HTTP 404/);
    await assert.rejects(lockModel(url), /a URL locks one file/);
  } finally {
    server.close();
    cleanup();
  }
});

test('the default mirror follows INFERSTACK_MIRROR, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(defaultMirrorDir({ INFERSTACK_MIRROR: '/m' }), '/m');
  assert.equal(defaultMirrorDir({ XDG_CACHE_HOME: '/c' }), '/c/inferstack/mirror');
  assert.match(defaultMirrorDir({}), /\.cache\/inferstack\/mirror$/);
});
