// Inputs for fuzzing the safetensors validator: a builder for valid files, structure-aware mutations
// of their JSON header (the fields a parser trusts: dtype, shape, offsets, lengths) and raw byte
// mutations and random bytes. Used by test/trust/safetensors.test.ts (bounded) and
// scripts/fuzz-safetensors.ts (a million inputs).


export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  bytesPerElement: number;
}

/** A valid safetensors file: header JSON padded with spaces to a multiple of 8, then the tensor data. */
export function buildSafetensors(tensors: TensorSpec[], metadata?: Record<string, string>, fill = 0): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * t.bytesPerElement;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return withHeader(JSON.stringify(header), Buffer.alloc(offset, fill));
}

export function withHeader(json: string, data: Uint8Array, pad = true): Buffer {
  let text = json;
  if (pad) while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  const head = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, data]);
}

/** A small random valid file: 1-6 tensors of mixed dtypes, optional metadata. */
export function randomValidSafetensors(rand: () => number): Buffer {
  const dtypes: [string, number][] = [['F32', 4], ['F16', 2], ['BF16', 2], ['I8', 1], ['U8', 1], ['I64', 8], ['BOOL', 1]];
  const pick = (n: number) => Math.floor(rand() * n);
  const tensors: TensorSpec[] = [];
  const count = 1 + pick(6);
  for (let i = 0; i < count; i++) {
    const [dtype, size] = dtypes[pick(dtypes.length)]!;
    const rank = pick(4);
    tensors.push({ name: `layers.${i}.weight`, dtype, shape: Array.from({ length: rank }, () => pick(5)), bytesPerElement: size });
  }
  return buildSafetensors(tensors, rand() < 0.5 ? { format: 'pt' } : undefined, pick(256));
}

const INTERESTING = [0, 1, 2, 7, 8, 255, 256, 65535, 2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, -0.5, 1e300, Number.MAX_SAFE_INTEGER];
const INTERESTING_U64 = [0n, 1n, 2n, 7n, 100_000_000n, 100_000_001n, 0xffffffffn, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];
const JUNK_JSON = ['{', '}', '[', ']', ',', ':', '"', '\\', 'null', 'true', '1e999', '-0', '"\\ud800"', '\u0000', '\uffff', '{"__proto__":{}}', '[[[[[[[['];

function mutateHeaderObject(header: Record<string, unknown>, rand: () => number): void {
  const pick = (n: number) => Math.floor(rand() * n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names[pick(names.length)];
  const current = name ? header[name] : undefined;
  // An earlier edit may have replaced the tensor with a scalar: edit a fresh object then.
  const t = (typeof current === 'object' && current !== null ? current : {}) as Record<string, unknown>;
  const value = (): unknown => {
    const r = pick(6);
    if (r === 0) return INTERESTING[pick(INTERESTING.length)];
    if (r === 1) return 'F32';
    if (r === 2) return null;
    if (r === 3) return [INTERESTING[pick(INTERESTING.length)]];
    if (r === 4) return { nested: pick(3) };
    return String.fromCharCode(pick(128));
  };
  switch (pick(12)) {
    case 0: t.dtype = ['F32', 'F16', 'BF16', 'I8', 'F4', 'F6_E2M3', 'X', '', 'f32', 'F8_E4M3'][pick(10)]; break;
    case 1: t.shape = Array.from({ length: pick(5) }, () => (rand() < 0.7 ? pick(8) : INTERESTING[pick(INTERESTING.length)])); break;
    case 2: t.data_offsets = [INTERESTING[pick(INTERESTING.length)], INTERESTING[pick(INTERESTING.length)]]; break;
    case 3: { const o = t.data_offsets as number[] | undefined; if (Array.isArray(o)) t.data_offsets = [o[1], o[0]]; break; } // swapped
    case 4: { const o = t.data_offsets as number[] | undefined; if (Array.isArray(o)) o[pick(2)] = (o[pick(2)] ?? 0) + pick(9) - 4; break; } // shifted
    case 5: delete t[['dtype', 'shape', 'data_offsets'][pick(3)]!]; break;
    case 6: t[['dtype', 'shape', 'data_offsets', 'extra'][pick(4)]!] = value(); break;
    case 7: header.__metadata__ = rand() < 0.5 ? { k: value() } : value(); break;
    case 8: if (name) header[`${name}.copy`] = { ...t }; break; // a second tensor over the same bytes
    case 9: if (name) header[name] = value(); break;
    case 10: header[String.fromCharCode(pick(65536))] = { dtype: 'U8', shape: [pick(3)], data_offsets: [0, pick(3)] }; break;
    default: if (name) delete header[name]; // a range nobody claims
  }
}

/** One mutated input derived from `valid` (never modified). */
export function mutateSafetensors(valid: Buffer, rand: () => number): Buffer {
  const pick = (n: number) => Math.floor(rand() * n);
  const headerLen = Number(valid.readBigUInt64LE(0));
  const json = valid.subarray(8, 8 + headerLen).toString('utf8');
  const data = valid.subarray(8 + headerLen);
  switch (pick(9)) {
    case 0: { // random bytes, sometimes behind a plausible length
      const out = Buffer.alloc(pick(300));
      for (let i = 0; i < out.length; i++) out[i] = pick(256);
      if (out.length >= 8 && rand() < 0.5) out.writeBigUInt64LE(BigInt(pick(out.length)), 0);
      return out;
    }
    case 1: return valid.subarray(0, pick(valid.length)); // truncated
    case 2: { // byte flips inside the header
      const out = Buffer.from(valid);
      for (let e = 1 + pick(4); e > 0; e--) out[8 + pick(Math.max(1, headerLen))] ^= 1 << pick(8);
      return out;
    }
    case 3: { // the length field
      const out = Buffer.from(valid);
      out.writeBigUInt64LE(rand() < 0.5 ? INTERESTING_U64[pick(INTERESTING_U64.length)]! : BigInt(Math.max(0, headerLen + pick(17) - 8)), 0);
      return out;
    }
    case 4:
    case 5:
    case 6: { // structure-aware: edit the parsed header and re-serialize with a correct length
      const header = JSON.parse(json) as Record<string, unknown>;
      for (let e = 1 + pick(3); e > 0; e--) mutateHeaderObject(header, rand);
      return withHeader(JSON.stringify(header), data, rand() < 0.8);
    }
    case 7: { // grow or shrink the data section
      const delta = pick(17) - 8;
      return delta >= 0 ? Buffer.concat([valid, Buffer.alloc(delta)]) : valid.subarray(0, Math.max(0, valid.length + delta));
    }
    default: { // splice junk JSON tokens into the header text
      let text = json;
      if (rand() < 0.3) {
        // repeat an existing key (first occurrence differs from the last): a parser-differential probe
        const header = JSON.parse(json) as Record<string, unknown>;
        const names = Object.keys(header);
        const name = names[pick(names.length)]!;
        const decoy = { dtype: 'U8', shape: [pick(4)], data_offsets: [0, pick(4)] };
        return withHeader(`{${JSON.stringify(name)}:${JSON.stringify(decoy)},${text.trimEnd().slice(1)}`, data);
      }
      for (let e = 1 + pick(3); e > 0; e--) {
        const at = pick(text.length + 1);
        const junk = rand() < 0.05 ? '['.repeat(1 + pick(100_000)) : JUNK_JSON[pick(JUNK_JSON.length)]!;
        text = text.slice(0, at) + junk + text.slice(at);
      }
      return withHeader(text, data, false);
    }
  }
}
