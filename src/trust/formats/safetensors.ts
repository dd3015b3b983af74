// safetensors header validation (format: 8-byte little-endian header length N, N bytes of JSON, then
// the tensor data). Checked before a loader sees the file: header size limit, valid JSON, every
// tensor's dtype x shape equals its byte range, ranges contiguous from 0 with no gap or overlap, the
// data section exactly covered, and __metadata__ a map of strings to strings.
import { open } from 'node:fs/promises';
import { TrustError } from '../errors.ts';
import { findDuplicateKey } from './json-duplicates.ts';

export const MAX_HEADER_BYTES = 100_000_000; // the limit of the reference (Rust) implementation

// Bits per element; sub-byte types (F4, F6) must fill whole bytes.
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

export interface SafetensorsInfo {
  headerBytes: number;
  tensors: number;
  dataBytes: number;
}

/**
 * Validate a safetensors file given its first bytes (at least 8 + header length) and its total size.
 * Never reads past the header; throws a TrustError('bad-format') naming the first problem.
 */
export function validateSafetensorsHeader(head: Uint8Array, fileSize: number, where = 'safetensors'): SafetensorsInfo {
  const fail = (msg: string): never => {
    throw new TrustError('bad-format', `${where}: ${msg}`);
  };
  if (fileSize < 8 || head.length < 8) fail('shorter than the 8-byte header length');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = Number(n);
  if (headerBytes < 2) fail('header length too small for a JSON object');
  if (8 + headerBytes > fileSize) fail(`header length ${headerBytes} runs past the end of the ${fileSize}-byte file`);
  if (head.length < 8 + headerBytes) fail('header bytes not provided');
  const raw = head.subarray(8, 8 + headerBytes);
  if (raw[0] !== 0x7b) fail('header does not start with "{"');

  let header: unknown;
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    header = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message.slice(0, 120)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) fail(`header repeats the key "${duplicate.slice(0, 128)}" (readers may disagree on which one counts)`);

  const dataBytes = fileSize - 8 - headerBytes;
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      checkMetadata(entry, fail);
      continue;
    }
    ranges.push({ name, ...checkTensor(name, entry, fail) });
  }
  // Contiguous from 0 to the end of the data: no gap (hidden bytes), no overlap (aliased tensors).
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const r of ranges) {
    if (r.begin < cursor) fail(`tensor "${r.name}" overlaps the previous tensor (starts at ${r.begin}, previous ends at ${cursor})`);
    if (r.begin > cursor) fail(`gap before tensor "${r.name}" (bytes ${cursor}..${r.begin} belong to no tensor)`);
    cursor = r.end;
  }
  if (cursor !== dataBytes) fail(`tensors cover ${cursor} bytes but the data section has ${dataBytes}`);
  return { headerBytes, tensors: ranges.length, dataBytes };
}

function checkMetadata(entry: unknown, fail: (m: string) => never): void {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object');
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`__metadata__["${k.slice(0, 64)}"] is not a string`);
  }
}

function checkTensor(name: string, entry: unknown, fail: (m: string) => never): { begin: number; end: number } {
  const at = `tensor "${name.slice(0, 128)}"`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`${at} is not an object`);
  const t = entry as Record<string, unknown>;
  for (const key of Object.keys(t)) if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`${at} has unknown field "${key.slice(0, 64)}"`);
  const bits = typeof t.dtype === 'string' && Object.hasOwn(DTYPE_BITS, t.dtype) ? DTYPE_BITS[t.dtype]! : fail(`${at} has unknown dtype ${JSON.stringify(t.dtype)?.slice(0, 32)}`);
  if (!Array.isArray(t.shape)) fail(`${at} shape is not an array`);
  let elements = 1n;
  for (const d of t.shape as unknown[]) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) fail(`${at} shape has a dimension that is not a non-negative integer`);
    elements *= BigInt(d as number);
  }
  const off = t.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) fail(`${at} data_offsets must be [begin, end] non-negative integers`);
  const [begin, end] = off as [number, number];
  if (end < begin) fail(`${at} ends (${end}) before it begins (${begin})`);
  const totalBits = elements * BigInt(bits);
  if (totalBits % 8n !== 0n) fail(`${at} ${t.dtype} x ${elements} elements is not a whole number of bytes`);
  if (totalBits / 8n !== BigInt(end - begin)) fail(`${at} is ${t.dtype} x [${(t.shape as number[]).join(',')}] = ${totalBits / 8n} bytes but its data_offsets span ${end - begin}`);
  return { begin, end };
}

/** Validate a safetensors file on disk, reading only its header. */
export async function validateSafetensorsFile(path: string): Promise<SafetensorsInfo> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const lenBuf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(lenBuf, 0, 8, 0);
    if (bytesRead < 8) return validateSafetensorsHeader(lenBuf.subarray(0, bytesRead), size, path);
    const n = lenBuf.readBigUInt64LE(0);
    // Only allocate when the length is within both the limit and the file; otherwise the header check fails on lenBuf alone.
    if (n > BigInt(MAX_HEADER_BYTES) || 8n + n > BigInt(size)) return validateSafetensorsHeader(lenBuf, size, path);
    const head = Buffer.alloc(8 + Number(n));
    lenBuf.copy(head);
    await fh.read(head, 8, Number(n), 8);
    return validateSafetensorsHeader(head, size, path);
  } finally {
    await fh.close();
  }
}
