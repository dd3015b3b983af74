import { test } from 'node:test';
import { seededRandom } from '../../src/util/seeded-random.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustError } from '../../src/trust/errors.ts';
import { MAX_HEADER_BYTES, validateSafetensorsFile, validateSafetensorsHeader } from '../../src/trust/formats/safetensors.ts';
import { buildSafetensors, mutateSafetensors, randomValidSafetensors, withHeader } from '../../src/trust/formats/safetensors-fuzz.ts';

const validate = (buf: Buffer) => validateSafetensorsHeader(buf, buf.length);
const refused = (buf: Buffer, why: RegExp) =>
  assert.throws(() => validate(buf), (err: unknown) => err instanceof TrustError && err.code === 'bad-format' && why.test(err.message));

const tensors = [
  { name: 'embed', dtype: 'BF16', shape: [4, 3], bytesPerElement: 2 },
  { name: 'norm', dtype: 'F32', shape: [3], bytesPerElement: 4 },
  { name: 'empty', dtype: 'I8', shape: [0, 5], bytesPerElement: 1 },
];

test('a valid file passes and is described', () => {
  const buf = buildSafetensors(tensors, { format: 'pt' });
  const info = validate(buf);
  assert.equal(info.tensors, 3);
  assert.equal(info.dataBytes, 4 * 3 * 2 + 3 * 4);
});

function header(obj: unknown, data: number): Buffer {
  return withHeader(JSON.stringify(obj), Buffer.alloc(data));
}

test('each rule is enforced with a message naming the problem', () => {
  refused(Buffer.alloc(4), /shorter than the 8-byte header length/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES) + 1n);
  refused(huge, /exceeds the 100000000-byte limit/);
  const past = Buffer.alloc(16);
  past.writeBigUInt64LE(100n);
  refused(past, /runs past the end/);
  refused(withHeader('[1,2,3]', Buffer.alloc(0)), /does not start with "\{"/);
  refused(withHeader('{"a":', Buffer.alloc(0)), /not valid UTF-8 JSON/);
  refused(Buffer.concat([withHeader('{"\xff":1}', Buffer.alloc(0)).subarray(0, 8), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d, 0x20])]), /UTF-8/);
  refused(header({ t: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /unknown dtype "F33"/);
  refused(header({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), /= 8 bytes but its data_offsets span 4/);
  refused(header({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /not a non-negative integer/);
  refused(header({ t: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /not a non-negative integer/);
  refused(header({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /ends \(0\) before it begins \(4\)/);
  refused(header({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, 4), /unknown field "extra"/);
  refused(header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, 6), /overlaps/);
  refused(header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /gap before tensor "b"/);
  refused(header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /cover 4 bytes but the data section has 8/);
  refused(header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /cover 8 bytes but the data section has 4/);
  refused(header({ __metadata__: { n: 1 } }, 0), /__metadata__\["n"\] is not a string/);
  refused(header({ __metadata__: 'x' }, 0), /__metadata__ is not an object/);
  refused(header({ t: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2), /not a whole number of bytes/);
  // A repeated key, at the top level or inside a tensor, escaped or not: readers could disagree.
  refused(withHeader('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Buffer.alloc(1)), /repeats the key "a"/);
  refused(withHeader('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"data_offsets":[0,1]}}', Buffer.alloc(1)), /repeats the key "data_offsets"/);
  refused(withHeader('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Buffer.alloc(1)), /repeats the key "a"/);
  assert.doesNotThrow(() => validate(withHeader('{"__metadata__":{"a":"\\":\\"a\\""},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Buffer.alloc(1))));
  // huge shapes do not overflow: BigInt arithmetic
  refused(header({ t: { dtype: 'F64', shape: [2 ** 53 - 1, 2 ** 53 - 1], data_offsets: [0, 8] } }, 8), /data_offsets span 8/);
});

test('the file reader checks only the header and refuses a lying length without allocating it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-st-'));
  try {
    const good = join(dir, 'good.safetensors');
    writeFileSync(good, buildSafetensors(tensors));
    assert.equal((await validateSafetensorsFile(good)).tensors, 3);
    const lying = Buffer.alloc(64);
    lying.writeBigUInt64LE(1n << 62n);
    writeFileSync(join(dir, 'lying.safetensors'), lying);
    await assert.rejects(validateSafetensorsFile(join(dir, 'lying.safetensors')), /exceeds the 100000000-byte limit/);
    writeFileSync(join(dir, 'short.safetensors'), Buffer.alloc(3));
    await assert.rejects(validateSafetensorsFile(join(dir, 'short.safetensors')), /shorter than the 8-byte header/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bounded fuzz: 20,000 mutated and random inputs, every one answered with a result or a bad-format refusal', () => {
  const rand = seededRandom(0x5afe7e45);
  let accepted = 0;
  let refusedCount = 0;
  for (let i = 0; i < 20_000; i++) {
    const valid = randomValidSafetensors(rand);
    assert.doesNotThrow(() => validate(valid)); // the generator's files are valid
    const input = mutateSafetensors(valid, rand);
    try {
      const info = validate(input);
      // An accepted input really is covered: header + data equals the file.
      assert.equal(8 + info.headerBytes + info.dataBytes, input.length);
      accepted += 1;
    } catch (err) {
      if (!(err instanceof TrustError) || err.code !== 'bad-format') throw new Error(`input ${i} crashed the validator: ${err}`);
      refusedCount += 1;
    }
  }
  // Both outcomes occur: the mutations are neither all harmless nor all rejected at the first byte.
  assert.ok(accepted > 100, `accepted ${accepted}`);
  assert.ok(refusedCount > 10_000, `refused ${refusedCount}`);
});
