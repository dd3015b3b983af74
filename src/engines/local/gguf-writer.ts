// A minimal GGUF v3 writer, used to generate test and benchmark models (nothing is downloaded).
// It writes exactly the layout llama.cpp's gguf reader expects: header, key/values, tensor infos,
// padding to the alignment, then tensor data laid out in order, each padded to the alignment.
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZE,
  GGML_TYPES,
  GgufValueType,
} from '../../trust/gguf-types.ts';

export type GgufScalar = number | bigint | boolean | string;
export type GgufKv =
  | { key: string; type: number; value: GgufScalar }
  | { key: string; type: typeof GgufValueType.ARRAY; elementType: number; values: readonly GgufScalar[] };

export interface GgufTensorSpec {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length) */
  dims: readonly number[];
  ggmlType: number;
  data: Uint8Array;
}

const encoder = new TextEncoder();

class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  private pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  get length(): number {
    return this.pos;
  }
  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.pos); this.pos += 1; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.pos); this.pos += 4; }
  u64(v: number | bigint): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.pos); this.pos += 8; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  string(s: string): void { const b = encoder.encode(s); this.u64(b.length); this.bytes(b); }
  pad(alignment: number): void { while (this.pos % alignment !== 0) this.u8(0); }
  scalar(type: number, v: GgufScalar): void {
    this.ensure(8);
    const b = this.buf;
    const p = this.pos;
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(Number(v), p); break;
      case GgufValueType.INT8: b.writeInt8(Number(v), p); break;
      case GgufValueType.UINT16: b.writeUInt16LE(Number(v), p); break;
      case GgufValueType.INT16: b.writeInt16LE(Number(v), p); break;
      case GgufValueType.UINT32: b.writeUInt32LE(Number(v), p); break;
      case GgufValueType.INT32: b.writeInt32LE(Number(v), p); break;
      case GgufValueType.FLOAT32: b.writeFloatLE(Number(v), p); break;
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0, p); break;
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v), p); break;
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v), p); break;
      case GgufValueType.FLOAT64: b.writeDoubleLE(Number(v), p); break;
      case GgufValueType.STRING: this.string(String(v)); return;
      default: throw new Error(`gguf-writer: cannot write value type ${type}`);
    }
    this.pos += GGUF_SCALAR_SIZE[type]!;
  }
  take(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export function tensorByteSize(dims: readonly number[], ggmlType: number): number {
  const info = GGML_TYPES.get(ggmlType);
  if (!info) throw new Error(`gguf-writer: unknown ggml type ${ggmlType}`);
  const elements = dims.reduce((a, b) => a * b, 1);
  return (elements / info.blockSize) * info.typeSize;
}

/** Serialises a GGUF v3 file. Returns the chunks in order (concatenate or write them out). */
export function encodeGguf(kvs: readonly GgufKv[], tensors: readonly GgufTensorSpec[]): Buffer[] {
  const alignmentKv = kvs.find((kv) => kv.key === 'general.alignment');
  const alignment = alignmentKv && 'value' in alignmentKv ? Number(alignmentKv.value) : GGUF_DEFAULT_ALIGNMENT;
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) {
    w.string(kv.key);
    w.u32(kv.type);
    if ('values' in kv) {
      w.u32(kv.elementType);
      w.u64(kv.values.length);
      for (const v of kv.values) w.scalar(kv.elementType, v);
    } else {
      w.scalar(kv.type, kv.value);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    const size = tensorByteSize(t.dims, t.ggmlType);
    if (size !== t.data.length) throw new Error(`gguf-writer: tensor ${t.name} has ${t.data.length} bytes, expected ${size}`);
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.ggmlType);
    w.u64(offset);
    offset += Math.ceil(size / alignment) * alignment;
  }
  w.pad(alignment);
  const chunks: Buffer[] = [w.take()];
  for (const t of tensors) {
    chunks.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    const padding = (alignment - (t.data.length % alignment)) % alignment;
    if (padding) chunks.push(Buffer.alloc(padding));
  }
  return chunks;
}
