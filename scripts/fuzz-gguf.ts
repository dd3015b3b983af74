// Fuzzes the GGUF validator (src/trust/gguf.ts): mutations of a valid generated model plus random
// bytes. Every input must end in a result or a GgufError: any other exception, or an input that
// takes longer than a second, fails the run. Not part of `npm test` (it takes about a minute).
//
//   npx node scripts/fuzz-gguf.ts [inputs=1000000] [seed=1]
import { GgufError, validateGgufBuffer } from '../src/trust/gguf.ts';
import { seededRandom } from '../src/util/seeded-random.ts';
import { mutateGguf } from '../src/trust/gguf-fuzz.ts';
import { encodeTinyLlama } from '../src/engines/local/tiny-model.ts';

const inputs = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
const valid = Buffer.concat(encodeTinyLlama({ nEmbd: 8, nLayer: 1, nHead: 2, merges: 10, weightType: 'F16' }).chunks);
const header = validateGgufBuffer(valid).dataOffset;
const rand = seededRandom(seed);

let accepted = 0;
let refused = 0;
let slowest = 0;
const reasons = new Map<string, number>();
const start = performance.now();
for (let i = 0; i < inputs; i++) {
  const input = mutateGguf(valid, rand, header);
  const t0 = performance.now();
  try {
    validateGgufBuffer(input);
    accepted++;
  } catch (err) {
    if (!(err instanceof GgufError)) {
      console.error(`FAIL: input ${i} (seed ${seed}) threw ${String(err)}`);
      console.error(Buffer.from(input).toString('base64'));
      process.exit(1);
    }
    refused++;
    // Group by the message without numbers and names, e.g. "tensor '*' has offset N, expected N".
    const kind = err.message.replace(/ \(at byte \d+\)$/, '').replace(/0x[0-9a-f]+/g, '0xN').replace(/'[^']*'/g, "'*'").replace(/\d+/g, 'N').slice(0, 90);
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  const ms = performance.now() - t0;
  if (ms > slowest) slowest = ms;
  if (ms > 1000) {
    console.error(`FAIL: input ${i} (seed ${seed}) took ${ms.toFixed(0)} ms`);
    process.exit(1);
  }
}
const seconds = (performance.now() - start) / 1000;
console.log(`fuzz-gguf: ${inputs} inputs (seed ${seed}, ${valid.length}-byte base file, ${header}-byte header) in ${seconds.toFixed(1)} s`);
console.log(`  accepted ${accepted}, refused with GgufError ${refused}, other exceptions 0, slowest input ${slowest.toFixed(2)} ms`);
console.log('  most common refusals:');
for (const [kind, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`    ${String(n).padStart(7)}  ${kind}`);
console.log(`  distinct refusal kinds: ${reasons.size}`);
