import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './fixtures.ts';

const script = fileURLToPath(new URL('../../scripts/check-pinned.mjs', import.meta.url));
const run = (path?: string) => spawnSync(process.execPath, path ? [script, path] : [script], { encoding: 'utf8' });

test("the repository's own package.json is fully pinned", () => {
  const r = run();
  assert.equal(r.status, 0, r.stderr);
});

test('the pin check fails on every kind of loose version and passes exact ones', () => {
  const { dir, cleanup } = tempDir();
  try {
    const exact = join(dir, 'exact.json');
    writeFileSync(exact, JSON.stringify({ dependencies: { a: '1.2.3', b: '1.0.0-rc.1' }, devDependencies: { c: '0.0.1' } }));
    assert.equal(run(exact).status, 0);
    // One file with every kind of loose version, spread over the three dependency fields: all reported.
    const looses = ['^1.2.3', '~1.2.3', '>=1.0.0', '1.x', '*', 'latest', '1.2', 'github:a/b', ''];
    const fields = ['dependencies', 'devDependencies', 'optionalDependencies'];
    const pkg: Record<string, Record<string, string>> = { dependencies: { ok: '1.0.0' } };
    looses.forEach((v, i) => ((pkg[fields[i % 3]!] ??= {})[`bad${i}`] = v));
    const p = join(dir, 'loose.json');
    writeFileSync(p, JSON.stringify(pkg));
    const r = run(p);
    assert.equal(r.status, 1);
    looses.forEach((v, i) => assert.ok(r.stderr.includes(`${fields[i % 3]}.bad${i}: ${v}`), `${v} not reported:\n${r.stderr}`));
    assert.ok(!r.stderr.includes('.ok:'));
  } finally {
    cleanup();
  }
});
