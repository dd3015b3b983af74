// npm run bench:trust [-- --gb 2 --rounds 3]
// 1. Hashing throughput of `inferstack models verify` against `sha256sum` on the same file (default
//    2 GB, made in a temp dir and deleted after), run alternately in one session; reported as the
//    ratio of throughputs (verify / sha256sum; target >= 0.9). Both read from the page cache after a
//    warm-up pass, so the comparison is hashing speed, not disk speed. `openssl dgst -sha256` runs in
//    the same rounds as a second reference (coreutils may lack the SHA-NI code path OpenSSL has).
// 2. The time `serve` spends verifying before it is ready: admitModel() (what the gateway calls) on a
//    model directory laid out like Llama-3.2-1B (one safetensors file of the same size + tokenizer and
//    configs), i.e. hash every locked file, then run the format guards.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, writeSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admitModel, createModelGate } from '../src/trust/admit.ts';
import { lockModel } from '../src/trust/lock-create.ts';
import { formatLock, newLock } from '../src/trust/lockfile.ts';
import { benchArgs } from './args.ts';

const { values } = benchArgs({ gb: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } });
const bytes = Math.round(Number(values.gb) * 1e9);
const rounds = Number(values.rounds);
const bin = fileURLToPath(new URL('../bin/inferstack.js', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A valid safetensors file of `total` bytes: one U8 tensor filling everything after a 256-byte header. */
function writeSafetensors(path: string, total: number): void {
  const headerBytes = 256;
  const dataBytes = total - 8 - headerBytes;
  const header = JSON.stringify({ __metadata__: { format: 'pt' }, 'model.weight': { dtype: 'U8', shape: [dataBytes], data_offsets: [0, dataBytes] } }).padEnd(headerBytes, ' ');
  const fd = openSync(path, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes));
  writeSync(fd, len);
  writeSync(fd, header);
  const block = randomBytes(64 * 1024 * 1024);
  for (let left = dataBytes; left > 0; left -= block.length) {
    writeSync(fd, block, 0, Math.min(left, block.length));
    block[0] = (block[0]! + 1) & 0xff; // no two blocks alike
  }
  closeSync(fd);
}

function timed(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return s;
}

const dir = mkdtempSync(join(tmpdir(), 'inferstack-bench-trust-'));
try {
  const modelDir = join(dir, 'llama-3.2-1b-like');
  mkdirSync(modelDir);
  const weights = join(modelDir, 'model.safetensors');
  writeSafetensors(weights, bytes);
  writeFileSync(join(modelDir, 'tokenizer.json'), randomBytes(9_085_657).toString('base64').slice(0, 9_085_657)); // Llama 3 tokenizer.json size
  writeFileSync(join(modelDir, 'tokenizer_config.json'), JSON.stringify({ pad: 'x'.repeat(54_000) }));
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 2048 }));
  writeFileSync(join(modelDir, 'generation_config.json'), '{"do_sample":true}');
  writeFileSync(join(modelDir, 'special_tokens_map.json'), '{"bos_token":"<|begin_of_text|>"}');

  // The lock for the hashing comparison holds the weights file alone, so both tools hash the same bytes.
  const t0 = performance.now();
  writeFileSync(join(dir, 'weights.lock'), formatLock(newLock([await lockModel(weights)]))); // also warms the page cache
  const lockSeconds = (performance.now() - t0) / 1000;
  // Warm-up, and a correctness check on a many-chunk file: both tools must agree on the digest.
  const reference = spawnSync('sha256sum', [weights], { encoding: 'utf8' }).stdout.split(' ')[0];
  const locked = JSON.parse(readFileSync(join(dir, 'weights.lock'), 'utf8')).models[0].files[0].sha256;
  if (reference !== locked) throw new Error(`digest disagreement: sha256sum ${reference}, models lock ${locked}`);

  const sha: number[] = [];
  const ossl: number[] = [];
  const verify: number[] = [];
  for (let i = 0; i < rounds; i++) {
    sha.push(timed('sha256sum', [weights], dir));
    verify.push(timed(process.execPath, [bin, 'models', 'verify', '--lock', 'weights.lock'], dir));
    ossl.push(timed('openssl', ['dgst', '-sha256', weights], dir));
  }
  const gb = bytes / 1e9;
  const shaS = median(sha);
  const osslS = median(ossl);
  const verifyS = median(verify);
  console.log(`## Hashing: ${gb} GB file, ${rounds} alternating rounds, medians (page cache warm)\n`);
  console.log('| tool | seconds (median) | GB/s | all rounds (s) |\n|---|---|---|---|');
  console.log(`| sha256sum | ${shaS.toFixed(2)} | ${(gb / shaS).toFixed(2)} | ${sha.map((s) => s.toFixed(2)).join(', ')} |`);
  console.log(`| inferstack models verify (whole CLI, node start included) | ${verifyS.toFixed(2)} | ${(gb / verifyS).toFixed(2)} | ${verify.map((s) => s.toFixed(2)).join(', ')} |`);
  console.log(`| openssl dgst -sha256 (system OpenSSL, SHA-NI) | ${osslS.toFixed(2)} | ${(gb / osslS).toFixed(2)} | ${ossl.map((s) => s.toFixed(2)).join(', ')} |`);
  console.log(`\nthroughput ratio verify / sha256sum: ${(shaS / verifyS).toFixed(2)} (target >= 0.9)`);
  console.log(`throughput ratio verify / openssl dgst: ${(osslS / verifyS).toFixed(2)} (a stricter reference: the same SHA-256 code family)`);
  console.log(`models lock of the same file (first pass, cache cold-ish): ${lockSeconds.toFixed(2)} s`);

  // What serve pays before it is ready: verify every locked file, then the format guards.
  const lock = newLock([await lockModel(modelDir)]);
  const totalBytes = lock.models[0]!.files.reduce((s, f) => s + f.size, 0);
  const admit: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a0 = performance.now();
    const result = await admitModel(modelDir, lock);
    admit.push((performance.now() - a0) / 1000);
    if (!result.pinned || result.formats.get(weights) !== 'safetensors') throw new Error('admitModel did not verify the model');
  }
  const admitS = median(admit);
  console.log(`\n## serve: verify before ready (admitModel, ${lock.models[0]!.files.length} files, ${(totalBytes / 1e9).toFixed(2)} GB, like Llama-3.2-1B bf16)\n`);
  console.log(`median ${admitS.toFixed(2)} s (${(totalBytes / 1e9 / admitS).toFixed(2)} GB/s); rounds: ${admit.map((s) => s.toFixed(2)).join(', ')}`);
  console.log(`at this rate an 8B bf16 model (16.1 GB) would take about ${(16.1 / (totalBytes / 1e9 / admitS)).toFixed(1)} s (extrapolated, not measured)`);

  // A model loaded again later (scale to zero, then a request): the gate skips files unchanged since it hashed them.
  writeFileSync(join(dir, 'model.lock'), formatLock(lock));
  const gate = await createModelGate({ lock: join(dir, 'model.lock') });
  const g0 = performance.now();
  const first = await gate(modelDir);
  const g1 = performance.now();
  const again = await gate(modelDir);
  const g2 = performance.now();
  console.log(`\nmodel gate (createModelGate): first load ${((g1 - g0) / 1000).toFixed(2)} s (${(first.hashedBytes / 1e9).toFixed(2)} GB hashed), ` +
    `reload of the unchanged model ${((g2 - g1) * 1).toFixed(1)} ms (${again.hashedBytes} bytes hashed; format guards still run)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
