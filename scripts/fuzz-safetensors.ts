// Long fuzz run of the safetensors header validator (outside `npm test`):
//   node scripts/fuzz-safetensors.ts [--count 1000000] [--seed 1]
// Every input must end in a result or a TrustError('bad-format'); anything else is a crash, saved to
// a file for replay. The slowest single input is reported, so a near-hang shows up as a number.
import { writeFileSync } from 'node:fs';
import { seededRandom } from '../src/util/seeded-random.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TrustError } from '../src/trust/errors.ts';
import { validateSafetensorsHeader } from '../src/trust/formats/safetensors.ts';
import { mutateSafetensors, randomValidSafetensors } from '../src/trust/formats/safetensors-fuzz.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' } } });
const count = Number(values.count);
const seed = Number(values.seed);
const rand = seededRandom(seed);
let accepted = 0;
let refused = 0;
let slowestMs = 0;
let slowest = Buffer.alloc(0);
const started = performance.now();
for (let i = 0; i < count; i++) {
  const input = mutateSafetensors(randomValidSafetensors(rand), rand);
  const t0 = performance.now();
  try {
    validateSafetensorsHeader(input, input.length);
    accepted += 1;
  } catch (err) {
    if (!(err instanceof TrustError) || err.code !== 'bad-format') {
      const file = join(tmpdir(), `safetensors-crash-${seed}-${i}.bin`);
      writeFileSync(file, input);
      console.error(`CRASH at input ${i} (seed ${seed}): ${(err as Error).stack}\ninput saved to ${file}`);
      process.exit(1);
    }
    refused += 1;
  }
  const ms = performance.now() - t0;
  if (ms > slowestMs) {
    slowestMs = ms;
    slowest = input;
  }
}
// A single slow timing on a busy machine may be a GC pause or a preemption: time the slowest input
// again, alone, to tell a pathological input from noise.
const again: number[] = [];
for (let k = 0; k < 20; k++) {
  const t0 = performance.now();
  try {
    validateSafetensorsHeader(slowest, slowest.length);
  } catch {
    // refusal expected for most inputs
  }
  again.push(performance.now() - t0);
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ inputs: count, seed, accepted, refused, crashes: 0, seconds: +seconds.toFixed(1), slowestInputMs: +slowestMs.toFixed(2), slowestInputBytes: slowest.length, slowestInputRetimedMaxMs: +Math.max(...again).toFixed(3) }));
