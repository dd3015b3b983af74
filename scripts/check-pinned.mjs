// Fails when any dependency in package.json is not pinned to an exact version (no ^, ~, ranges or tags).
// Usage: node scripts/check-pinned.mjs [path/to/package.json]   (default: the repository's own)
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? new URL('../package.json', import.meta.url);
const pkg = JSON.parse(readFileSync(path, 'utf8'));
const exact = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const loose = [];
for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
  for (const [name, version] of Object.entries(pkg[field] ?? {})) {
    if (!exact.test(version)) loose.push(`${field}.${name}: ${version}`);
  }
}
if (loose.length > 0) {
  console.error(`dependencies not pinned to an exact version:\n  ${loose.join('\n  ')}`);
  process.exit(1);
}
console.log('all dependencies pinned to exact versions');
