import { test } from 'node:test';
import { seededRandom } from '../../src/util/seeded-random.ts';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufError, validateGguf, validateGgufBuffer } from '../../src/trust/gguf.ts';
import { encodeGguf } from '../../src/engines/local/gguf-writer.ts';
import { encodeTinyLlama } from '../../src/engines/local/tiny-model.ts';
import { GgufValueType } from '../../src/trust/gguf-types.ts';
import { mutateGguf } from '../../src/trust/gguf-fuzz.ts';

const valid = Buffer.concat(encodeTinyLlama({ nEmbd: 32, nLayer: 1, nHead: 2, merges: 20 }).chunks);

/** Offset of the first occurrence of an ASCII string inside the file. */
function find(buf: Buffer, s: string): number {
  const at = buf.indexOf(Buffer.from(s));
  assert.ok(at >= 0, `${s} not found`);
  return at;
}

function refused(buf: Uint8Array, pattern: RegExp): void {
  assert.throws(() => validateGgufBuffer(buf), (err: unknown) => {
    assert.ok(err instanceof GgufError, `expected GgufError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('a generated model validates and its summary matches what was written', () => {
  const s = validateGgufBuffer(valid);
  assert.equal(s.version, 3);
  assert.equal(s.metadata.get('general.architecture'), 'llama');
  assert.deepEqual(s.metadata.get('tokenizer.ggml.merges'), { array: 'STRING', length: 20 });
  assert.equal(s.tensors.length, 3 + 9);
  assert.deepEqual(s.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')?.dims, [64, 32]);
  assert.equal(s.dataOffset + s.dataBytes, valid.length);
});

test('validateGguf reads a file from disk, growing its read window for long headers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gguf-'));
  try {
    // A 3 MB metadata string forces more than the first 1 MiB read.
    const big = Buffer.concat(encodeGguf([
      { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
      { key: 'big', type: GgufValueType.STRING, value: 'x'.repeat(3_000_000) },
    ], []));
    await writeFile(join(dir, 'big.gguf'), big);
    const s = await validateGguf(join(dir, 'big.gguf'));
    assert.equal((s.metadata.get('big') as string).length, 3_000_000);
    await writeFile(join(dir, 'cut.gguf'), big.subarray(0, 2_000_000));
    await assert.rejects(validateGguf(join(dir, 'cut.gguf')), /metadata 'big' string needs 3000000 bytes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('malformed headers are refused with an error naming the problem', () => {
  refused(Buffer.from('GG'), /too short/);
  refused(Buffer.from('GGML\x03\0\0\0'), /bad magic/);
  const v = Buffer.from(valid);
  v.writeUInt32LE(7, 4);
  refused(v, /unsupported version 7/);
  v.writeUInt32BE(3, 4);
  refused(v, /big-endian/);
  const counts = Buffer.from(valid);
  counts.writeBigUInt64LE(1n << 40n, 8);
  refused(counts, /tensor count 1099511627776 exceeds the limit/);
  counts.writeBigUInt64LE(100000n, 8);
  refused(counts, /tensor count 100000 cannot fit/);
  const kv = Buffer.from(valid);
  kv.writeBigUInt64LE(0xffffffffffffffffn, 16);
  refused(kv, /metadata count \d+ exceeds the limit/);
});

test('metadata: string and array lengths must stay inside the file, types must be known', () => {
  const keyAt = find(valid, 'general.architecture');
  const s = Buffer.from(valid);
  s.writeBigUInt64LE(1n << 62n, keyAt - 8);
  refused(s, /metadata key 0: string length 4611686018427387904 exceeds/);
  s.writeBigUInt64LE(500000n, keyAt - 8);
  refused(s, /metadata key 0 needs 500000 bytes/);

  const t = Buffer.from(valid);
  t.writeUInt32LE(99, keyAt + 'general.architecture'.length);
  refused(t, /metadata 'general.architecture': unknown value type 99/);

  const tokensAt = find(valid, 'tokenizer.ggml.tokens') + 'tokenizer.ggml.tokens'.length;
  const a = Buffer.from(valid);
  a.writeBigUInt64LE(1n << 27n, tokensAt + 8);
  refused(a, /array of 134217728 STRING runs past the end/);
  a.writeUInt32LE(GgufValueType.ARRAY, tokensAt + 4);
  refused(a, /nested arrays/);

  const bool = Buffer.from(valid);
  const boolAt = find(valid, 'tokenizer.ggml.add_bos_token') + 'tokenizer.ggml.add_bos_token'.length + 4;
  bool.writeUInt8(7, boolAt);
  refused(bool, /bool value 7/);

  const dup = Buffer.concat(encodeGguf([
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
  ], []));
  refused(dup, /duplicate metadata key 'general.architecture'/);
  const align = Buffer.concat(encodeGguf([
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.alignment', type: GgufValueType.UINT32, value: 48 },
  ], []));
  refused(align, /alignment 48 is not a power of two/);
  refused(Buffer.concat(encodeGguf([], [])), /general.architecture is missing/);
});

test('tensors: dimensions, types and offsets are checked, sizes without overflow', () => {
  const nameAt = find(valid, 'output_norm.weight');
  const infoAt = nameAt + 'output_norm.weight'.length; // n_dims, dims..., type, offset
  const dims = Buffer.from(valid);
  dims.writeUInt32LE(9, infoAt);
  refused(dims, /'output_norm.weight' has 9 dimensions/);
  const zero = Buffer.from(valid);
  zero.writeBigUInt64LE(0n, infoAt + 4);
  refused(zero, /invalid dimension 0/);
  const huge = Buffer.from(valid);
  huge.writeBigUInt64LE(1n << 62n, infoAt + 4);
  refused(huge, /'output_norm.weight' data .* runs past the end/);
  const type = Buffer.from(valid);
  type.writeUInt32LE(4, infoAt + 12);
  refused(type, /unknown or removed ggml type 4/);
  type.writeUInt32LE(2, infoAt + 12); // Q4_0 needs rows that are multiples of 32: 32 is, so make it fail on size
  type.writeBigUInt64LE(33n, infoAt + 4);
  refused(type, /row length 33 is not a multiple of Q4_0's block size 32/);
  const off = Buffer.from(valid);
  off.writeBigUInt64LE(off.readBigUInt64LE(infoAt + 16) + 1n, infoAt + 16);
  refused(off, /offset \d+ is not aligned to 32/);
  off.writeBigUInt64LE(0n, infoAt + 16);
  refused(off, /'output_norm.weight' has offset 0, expected \d+/);
  refused(valid.subarray(0, valid.length - 1), /'blk.0.ffn_down.weight' data .* runs past the end/);

  // Element count overflow: four dimensions of 2^20 multiply past int64.
  const over = Buffer.concat(encodeGguf([{ key: 'general.architecture', type: GgufValueType.STRING, value: 'x' }], []));
  const tensorInfo = Buffer.alloc(8 + 1 + 4 + 32 + 4 + 8);
  let p = 0;
  tensorInfo.writeBigUInt64LE(1n, p); p += 8; tensorInfo.write('t', p); p += 1;
  tensorInfo.writeUInt32LE(4, p); p += 4;
  for (let i = 0; i < 4; i++) { tensorInfo.writeBigUInt64LE(1n << 20n, p); p += 8; }
  tensorInfo.writeUInt32LE(0, p);
  // header (24 bytes) + one key/value ('general.architecture' = 'x': 8 + 20 + 4 + 8 + 1), before padding
  const withTensor = Buffer.concat([over.subarray(0, 24 + 41), tensorInfo, Buffer.alloc(64)]);
  withTensor.writeBigUInt64LE(1n, 8);
  refused(withTensor, /element count overflows int64/);
});

test('bounded fuzz: mutated and random inputs only ever produce GgufError', () => {
  const rand = seededRandom(42);
  let refusedCount = 0;
  for (let i = 0; i < 3000; i++) {
    const input = mutateGguf(valid, rand);
    try {
      validateGgufBuffer(input);
    } catch (err) {
      if (!(err instanceof GgufError)) throw new Error(`input ${i}: unexpected ${String(err)}`);
      refusedCount++;
    }
  }
  // Most mutations land in weight bytes (still valid); the header ones must be refused cleanly.
  assert.ok(refusedCount > 500, `expected many refusals, got ${refusedCount}`);
});
