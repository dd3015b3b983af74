// GGUF validator: checks a model file's structure in TypeScript before llama.cpp's C++ parser reads
// it, so a truncated, corrupt or hostile file is refused with an error that names the problem
// instead of crashing or exhausting the process. It reads only the header, metadata and tensor
// infos (never the weights), bounds every count and length by the bytes actually present, and does
// all size and offset arithmetic in BigInt so nothing can overflow.
import { open } from 'node:fs/promises';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZE,
  GGUF_VALUE_TYPE_NAMES,
  GgufValueType,
} from './gguf-types.ts';

export class GgufError extends Error {
  readonly code = 'invalid_gguf';
  /** byte offset in the file where the problem was found, when known */
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(offset === undefined ? `invalid GGUF: ${message}` : `invalid GGUF: ${message} (at byte ${offset})`);
    this.name = 'GgufError';
    this.offset = offset;
  }
}

export interface GgufLimits {
  /** most bytes of header + metadata + tensor infos read from a file (default 256 MiB) */
  maxHeaderBytes: number;
  maxTensors: number;
  maxKv: number;
  /** longest key or string value in bytes */
  maxStringBytes: number;
  maxArrayLength: number;
}

export const DEFAULT_GGUF_LIMITS: GgufLimits = {
  maxHeaderBytes: 256 * 1024 * 1024,
  maxTensors: 1 << 20,
  maxKv: 1 << 20,
  maxStringBytes: 16 * 1024 * 1024,
  maxArrayLength: 1 << 28,
};

export type GgufScalarValue = number | bigint | boolean | string;
export type GgufMetadataValue = GgufScalarValue | { array: string; length: number };

export interface GgufTensorSummary {
  name: string;
  dims: number[];
  type: string;
  /** absolute byte offset of the tensor's data in the file */
  fileOffset: number;
  bytes: number;
}

export interface GgufSummary {
  version: number;
  alignment: number;
  /** scalar values decoded; arrays summarised by element type and length */
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorSummary[];
  /** absolute offset where tensor data begins */
  dataOffset: number;
  /** bytes of tensor data (sum of tensor sizes, with alignment padding between them) */
  dataBytes: number;
  fileSize: number;
}

/** Thrown inside the parser when a file's header is longer than the chunk read so far. */
class NeedMoreBytes {}

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  /** the whole file's size; `bytes` may hold only its beginning */
  private readonly fileSize: number;
  constructor(bytes: Uint8Array, fileSize: number) {
    this.bytes = bytes;
    this.fileSize = fileSize;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Ensures `n` more bytes exist; `what` names the field for the error. */
  need(n: bigint | number, what: string): number {
    const big = BigInt(n);
    if (big > BigInt(this.fileSize - this.pos)) {
      throw new GgufError(`${what} needs ${big} bytes but only ${this.fileSize - this.pos} remain in the file`, this.pos);
    }
    const count = Number(big);
    if (this.pos + count > this.bytes.length) throw new NeedMoreBytes();
    return count;
  }
  remaining(): number {
    return this.fileSize - this.pos;
  }
  u8(what: string): number { this.need(1, what); return this.view.getUint8(this.pos++); }
  u32(what: string): number { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(what: string): bigint { this.need(8, what); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  scalar(type: number, what: string): GgufScalarValue {
    const size = GGUF_SCALAR_SIZE[type]!;
    this.need(size, what);
    const p = this.pos;
    const v = this.view;
    this.pos += size;
    switch (type) {
      case GgufValueType.UINT8: return v.getUint8(p);
      case GgufValueType.INT8: return v.getInt8(p);
      case GgufValueType.UINT16: return v.getUint16(p, true);
      case GgufValueType.INT16: return v.getInt16(p, true);
      case GgufValueType.UINT32: return v.getUint32(p, true);
      case GgufValueType.INT32: return v.getInt32(p, true);
      case GgufValueType.FLOAT32: return v.getFloat32(p, true);
      case GgufValueType.UINT64: return v.getBigUint64(p, true);
      case GgufValueType.INT64: return v.getBigInt64(p, true);
      case GgufValueType.FLOAT64: return v.getFloat64(p, true);
      case GgufValueType.BOOL: {
        const b = v.getUint8(p);
        if (b > 1) throw new GgufError(`${what}: bool value ${b} is neither 0 nor 1`, p);
        return b === 1;
      }
      default: throw new GgufError(`${what}: unknown value type ${type}`, p);
    }
  }
  /** Reads a length-prefixed string; `decode` false skips decoding (array elements). */
  string(what: string, limits: GgufLimits, mode: 'strict' | 'lenient' | 'skip'): string {
    const start = this.pos;
    const len = this.u64(`${what} length`);
    if (len > BigInt(limits.maxStringBytes)) {
      throw new GgufError(`${what}: string length ${len} exceeds the limit of ${limits.maxStringBytes} bytes`, start);
    }
    const n = this.need(len, what);
    const slice = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (mode === 'skip') return '';
    if (mode === 'lenient') return lenientUtf8.decode(slice);
    try {
      return strictUtf8.decode(slice);
    } catch {
      throw new GgufError(`${what} is not valid UTF-8`, start + 8);
    }
  }
}

function typeName(type: number): string {
  return GGUF_VALUE_TYPE_NAMES[type] ?? `unknown(${type})`;
}

function parseMetadataValue(c: Cursor, key: string, limits: GgufLimits): GgufMetadataValue {
  const typeAt = c.pos;
  const type = c.u32(`metadata '${key}' value type`);
  if (type === GgufValueType.STRING) return c.string(`metadata '${key}' string`, limits, 'lenient');
  if (type === GgufValueType.ARRAY) {
    const elementType = c.u32(`metadata '${key}' array element type`);
    const lengthAt = c.pos;
    const length = c.u64(`metadata '${key}' array length`);
    if (elementType === GgufValueType.ARRAY) throw new GgufError(`metadata '${key}': nested arrays are not supported`, lengthAt - 4);
    const elementSize = elementType === GgufValueType.STRING ? 8 : GGUF_SCALAR_SIZE[elementType];
    if (elementSize === undefined) throw new GgufError(`metadata '${key}': unknown array element type ${elementType}`, lengthAt - 4);
    if (length > BigInt(limits.maxArrayLength)) {
      throw new GgufError(`metadata '${key}': array length ${length} exceeds the limit of ${limits.maxArrayLength}`, lengthAt);
    }
    // Every element takes at least elementSize bytes: refuse lengths the file cannot hold before looping.
    if (length * BigInt(elementSize) > BigInt(c.remaining())) {
      throw new GgufError(`metadata '${key}': array of ${length} ${typeName(elementType)} runs past the end of the file`, lengthAt);
    }
    const n = Number(length);
    if (elementType === GgufValueType.STRING) {
      for (let i = 0; i < n; i++) c.string(`metadata '${key}' element ${i}`, limits, 'skip');
    } else if (elementType === GgufValueType.BOOL) {
      for (let i = 0; i < n; i++) c.scalar(elementType, `metadata '${key}' element ${i}`);
    } else {
      c.pos += c.need(n * elementSize, `metadata '${key}' array data`);
    }
    return { array: typeName(elementType), length: n };
  }
  if (GGUF_SCALAR_SIZE[type] === undefined) throw new GgufError(`metadata '${key}': unknown value type ${type}`, typeAt);
  return c.scalar(type, `metadata '${key}'`);
}

function readCount(c: Cursor, what: string, max: number, minBytesEach: number): number {
  const at = c.pos;
  const count = c.u64(what);
  if (count > BigInt(max)) throw new GgufError(`${what} ${count} exceeds the limit of ${max}`, at);
  if (count * BigInt(minBytesEach) > BigInt(c.remaining())) {
    throw new GgufError(`${what} ${count} cannot fit in the ${c.remaining()} bytes left in the file`, at);
  }
  return Number(count);
}

function alignUp(n: bigint, alignment: bigint): bigint {
  return ((n + alignment - 1n) / alignment) * alignment;
}

function parse(bytes: Uint8Array, fileSize: number, limits: GgufLimits): GgufSummary {
  const c = new Cursor(bytes, fileSize);
  if (fileSize < 4) throw new GgufError(`file is ${fileSize} bytes, too short for a GGUF header`);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) throw new GgufError(`bad magic 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF"`, 0);
  const version = c.u32('version');
  if (version === 0x03000000 || version === 0x02000000) throw new GgufError('big-endian GGUF files are not supported', 4);
  if (version !== 2 && version !== 3) throw new GgufError(`unsupported version ${version} (supported: 2, 3)`, 4);
  // Minimum encoded sizes: a tensor info is name(8) + n_dims(4) + 1 dim(8) + type(4) + offset(8);
  // a key/value is key(8) + type(4) + the smallest value(1).
  const tensorCount = readCount(c, 'tensor count', limits.maxTensors, 32);
  const kvCount = readCount(c, 'metadata count', limits.maxKv, 13);

  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos;
    const key = c.string(`metadata key ${i}`, limits, 'strict');
    if (key.length === 0) throw new GgufError(`metadata key ${i} is empty`, keyAt);
    if (metadata.has(key)) throw new GgufError(`duplicate metadata key '${key}'`, keyAt);
    metadata.set(key, parseMetadataValue(c, key, limits));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (metadata.has('general.alignment')) {
    const a = metadata.get('general.alignment');
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a > 0xffffffff) {
      throw new GgufError('general.alignment must be a UINT32');
    }
    if (a === 0 || (a & (a - 1)) !== 0) throw new GgufError(`general.alignment ${a} is not a power of two`);
    alignment = a;
  }
  const arch = metadata.get('general.architecture');
  if (typeof arch !== 'string' || arch.length === 0) throw new GgufError('general.architecture is missing or not a string');

  const raw: { name: string; dims: bigint[]; type: number; offset: bigint; at: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    const name = c.string(`tensor ${i} name`, limits, 'strict');
    if (name.length === 0) throw new GgufError(`tensor ${i} has an empty name`, at);
    if (Buffer.byteLength(name) >= GGML_MAX_NAME) throw new GgufError(`tensor name '${name.slice(0, 80)}' is ${GGML_MAX_NAME} bytes or longer`, at);
    if (names.has(name)) throw new GgufError(`duplicate tensor name '${name}'`, at);
    names.add(name);
    const nDims = c.u32(`tensor '${name}' dimension count`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) throw new GgufError(`tensor '${name}' has ${nDims} dimensions (allowed: 1..${GGML_MAX_DIMS})`, c.pos - 4);
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64(`tensor '${name}' dimension ${d}`));
    const type = c.u32(`tensor '${name}' type`);
    const offset = c.u64(`tensor '${name}' offset`);
    raw.push({ name, dims, type, offset, at });
  }

  const dataStart = alignUp(BigInt(c.pos), BigInt(alignment));
  const align = BigInt(alignment);
  const size = BigInt(fileSize);
  let expectedOffset = 0n;
  const tensors: GgufTensorSummary[] = [];
  for (const t of raw) {
    const info = GGML_TYPES.get(t.type);
    if (!info) throw new GgufError(`tensor '${t.name}' has unknown or removed ggml type ${t.type}`, t.at);
    let elements = 1n;
    for (const d of t.dims) {
      if (d === 0n || d > MAX_I64) throw new GgufError(`tensor '${t.name}' has invalid dimension ${d}`, t.at);
      elements *= d;
      if (elements > MAX_I64) throw new GgufError(`tensor '${t.name}' element count overflows int64`, t.at);
    }
    const block = BigInt(info.blockSize);
    if (t.dims[0]! % block !== 0n) {
      throw new GgufError(`tensor '${t.name}' row length ${t.dims[0]} is not a multiple of ${info.name}'s block size ${info.blockSize}`, t.at);
    }
    const bytes = (elements / block) * BigInt(info.typeSize);
    if (t.offset % align !== 0n) throw new GgufError(`tensor '${t.name}' offset ${t.offset} is not aligned to ${alignment}`, t.at);
    // llama.cpp requires tensors stored in order, each starting where the previous (padded) one ends.
    if (t.offset !== expectedOffset) throw new GgufError(`tensor '${t.name}' has offset ${t.offset}, expected ${expectedOffset}`, t.at);
    const end = dataStart + t.offset + bytes;
    if (end > size || end > MAX_U64) {
      throw new GgufError(`tensor '${t.name}' data (${bytes} bytes at ${dataStart + t.offset}) runs past the end of the ${fileSize}-byte file`, t.at);
    }
    expectedOffset = alignUp(t.offset + bytes, align);
    tensors.push({ name: t.name, dims: t.dims.map(Number), type: info.name, fileOffset: Number(dataStart + t.offset), bytes: Number(bytes) });
  }
  if (tensorCount === 0 && dataStart > size) throw new GgufError('file ends inside the padding before tensor data');
  return {
    version,
    alignment,
    metadata,
    tensors,
    dataOffset: Number(dataStart),
    dataBytes: Number(expectedOffset),
    fileSize,
  };
}

/** Validates GGUF bytes held in memory (the whole file). Throws GgufError naming the problem. */
export function validateGgufBuffer(bytes: Uint8Array, limits: Partial<GgufLimits> = {}): GgufSummary {
  const all = { ...DEFAULT_GGUF_LIMITS, ...limits };
  const result = parse(bytes, bytes.length, all);
  return result;
}

/** Validates a GGUF file on disk, reading only as much of its beginning as the header needs. */
export async function validateGgufFile(path: string, limits: Partial<GgufLimits> = {}): Promise<GgufSummary> {
  const all = { ...DEFAULT_GGUF_LIMITS, ...limits };
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    let chunk = Math.min(size, 1 << 20);
    for (;;) {
      const buf = Buffer.alloc(chunk);
      const { bytesRead } = await fh.read(buf, 0, chunk, 0);
      if (bytesRead !== chunk) throw new GgufError(`file changed while reading (read ${bytesRead} of ${chunk} bytes)`);
      try {
        return parse(buf, size, all);
      } catch (err) {
        if (!(err instanceof NeedMoreBytes)) throw err;
        if (chunk >= all.maxHeaderBytes) throw new GgufError(`header and metadata exceed the limit of ${all.maxHeaderBytes} bytes`);
        chunk = Math.min(size, chunk * 4, all.maxHeaderBytes);
      }
    }
  } finally {
    await fh.close();
  }
}

/** validateGguf(path or bytes): the one entry point the engine and the trust layer call. */
export async function validateGguf(input: string | Uint8Array, limits: Partial<GgufLimits> = {}): Promise<GgufSummary> {
  return typeof input === 'string' ? validateGgufFile(input, limits) : validateGgufBuffer(input, limits);
}
