// Accelerator catalog: the published figures from ../shared/reference/hardware.md, plus whatever
// the user adds from a YAML/JSON file. Everything downstream (step time, KV capacity, planner
// economics) reads these numbers, so they stay in one place.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Dtype } from './types.ts';
import { PhysicsInputError } from './errors.ts';

export interface Hardware {
  id: string;
  name: string;
  /** Device memory in bytes (HBM, or on-chip SRAM for SRAM-resident parts). */
  memoryBytes: number;
  memBandwidthBytesPerSec: number;
  /** Dense peak FLOP/s per number format. `fp8` equals `bf16` on parts with no native FP8 (weights are upcast). */
  flops: { bf16: number; fp8: number; fp4?: number; int8?: number };
  tdpWatts: number;
  /** Scale-up (NVLink-class) bandwidth per direction, bytes/s, per device. */
  scaleUpBandwidthBytesPerSec: number;
  memoryKind: 'hbm' | 'sram';
  /** Assumed rental price in USD per device-hour; an assumption for the planner, override with --gpu-hour-price. */
  hourlyUsd: number;
  /** Largest group of devices on one scale-up domain (TP beyond it is not offered by the search). */
  maxScaleUp: number;
  /** Caveats: which figures are unverified or estimated. */
  notes?: string;
}

// yaml is loaded only when a hardware file is read: the planner's start-up stays short.
const requireCjs = createRequire(import.meta.url);
const parseYaml = (text: string): unknown => (requireCjs('yaml') as typeof Yaml).parse(text);

const GiB = 1024 ** 3;
const GB = 1e9;
const TB = 1e12;
const T = 1e12;

// Memory of NVIDIA/AMD/Intel parts is taken in GiB, the way ai-dynamo/aiconfigurator stores it and
// the way vLLM sees it (torch reports ~80 GiB on an "80 GB" H100).
const builtin: Hardware[] = [
  {
    id: 'h100', name: 'NVIDIA H100 SXM 80GB', memoryBytes: 80 * GiB, memBandwidthBytesPerSec: 3.35 * TB,
    flops: { bf16: 989 * T, fp8: 1979 * T, int8: 1979 * T }, tdpWatts: 700,
    scaleUpBandwidthBytesPerSec: 450 * GB, memoryKind: 'hbm', hourlyUsd: 2.5, maxScaleUp: 8,
  },
  {
    id: 'h200', name: 'NVIDIA H200 SXM 141GB', memoryBytes: 141 * GiB, memBandwidthBytesPerSec: 4.8 * TB,
    flops: { bf16: 989 * T, fp8: 1979 * T, int8: 1979 * T }, tdpWatts: 700,
    scaleUpBandwidthBytesPerSec: 450 * GB, memoryKind: 'hbm', hourlyUsd: 3.5, maxScaleUp: 8,
  },
  {
    id: 'b200', name: 'NVIDIA B200 180GB', memoryBytes: 180 * GiB, memBandwidthBytesPerSec: 7.7 * TB,
    flops: { bf16: 2250 * T, fp8: 4500 * T, fp4: 9000 * T, int8: 4500 * T }, tdpWatts: 1000,
    scaleUpBandwidthBytesPerSec: 900 * GB, memoryKind: 'hbm', hourlyUsd: 5.5, maxScaleUp: 8,
  },
  {
    id: 'gb200', name: 'NVIDIA GB200 (per GPU, NVL72)', memoryBytes: 189471 * 1024 ** 2, memBandwidthBytesPerSec: 8 * TB,
    flops: { bf16: 2500 * T, fp8: 5000 * T, fp4: 10000 * T, int8: 5000 * T }, tdpWatts: 1200,
    scaleUpBandwidthBytesPerSec: 900 * GB, memoryKind: 'hbm', hourlyUsd: 6.5, maxScaleUp: 72,
  },
  {
    id: 'mi300x', name: 'AMD Instinct MI300X 192GB', memoryBytes: 192 * GiB, memBandwidthBytesPerSec: 5.3 * TB,
    flops: { bf16: 1307.4 * T, fp8: 2614.9 * T, int8: 2614.9 * T }, tdpWatts: 750,
    scaleUpBandwidthBytesPerSec: 448 * GB, memoryKind: 'hbm', hourlyUsd: 2.5, maxScaleUp: 8,
    notes: 'scale-up: AMD aggregate 896 GB/s bidirectional (unverified), halved per direction',
  },
  {
    id: 'mi325x', name: 'AMD Instinct MI325X 256GB', memoryBytes: 256 * GiB, memBandwidthBytesPerSec: 6.0 * TB,
    flops: { bf16: 1307.4 * T, fp8: 2614.9 * T, int8: 2614.9 * T }, tdpWatts: 1000,
    scaleUpBandwidthBytesPerSec: 448 * GB, memoryKind: 'hbm', hourlyUsd: 3.0, maxScaleUp: 8,
    notes: 'scale-up as MI300X (unverified)',
  },
  {
    id: 'gaudi3', name: 'Intel Gaudi 3 OAM 128GB', memoryBytes: 128 * GiB, memBandwidthBytesPerSec: 3.67 * TB,
    flops: { bf16: 1835 * T, fp8: 1835 * T }, tdpWatts: 900,
    scaleUpBandwidthBytesPerSec: 600 * GB, memoryKind: 'hbm', hourlyUsd: 2.0, maxScaleUp: 8,
    notes: 'TDP 900 W air-cooled (1,200 W liquid)',
  },
  {
    id: 'tpu-v5e', name: 'Google TPU v5e', memoryBytes: 16 * GiB, memBandwidthBytesPerSec: 819 * GB,
    flops: { bf16: 197 * T, fp8: 197 * T, int8: 393 * T }, tdpWatts: 250,
    scaleUpBandwidthBytesPerSec: 200 * GB, memoryKind: 'hbm', hourlyUsd: 1.2, maxScaleUp: 256,
    notes: 'no FP8 (fp8 runs at the BF16 rate); TDP not published: 250 W is an estimate',
  },
  {
    id: 'tpu-v6e', name: 'Google TPU v6e (Trillium)', memoryBytes: 32 * GiB, memBandwidthBytesPerSec: 1638 * GB,
    flops: { bf16: 918 * T, fp8: 918 * T, int8: 1836 * T }, tdpWatts: 400,
    scaleUpBandwidthBytesPerSec: 400 * GB, memoryKind: 'hbm', hourlyUsd: 2.7, maxScaleUp: 256,
    notes: 'no FP8 (fp8 runs at the BF16 rate); TDP not published: 400 W is an estimate',
  },
  {
    id: 'wse3', name: 'Cerebras WSE-3 (CS-3)', memoryBytes: 44 * GB, memBandwidthBytesPerSec: 21e15,
    flops: { bf16: 125e15, fp8: 125e15 }, tdpWatts: 23000,
    scaleUpBandwidthBytesPerSec: 150 * GB, memoryKind: 'sram', hourlyUsd: 100, maxScaleUp: 64,
    notes: '125 PF is the vendor sparse peak; CS-3 power ~23 kW (unverified); wafer-to-wafer link (12x100GbE) is an estimate; price assumes a ~$2.5M system over 3 years',
  },
  {
    id: 'groq-lpu', name: 'Groq LPU (gen-1 TSP)', memoryBytes: 230e6, memBandwidthBytesPerSec: 80 * TB,
    flops: { bf16: 188 * T, fp8: 188 * T, int8: 750 * T }, tdpWatts: 375,
    scaleUpBandwidthBytesPerSec: 240 * GB, memoryKind: 'sram', hourlyUsd: 0.6, maxScaleUp: 4096,
    notes: 'power 300-375 W (unverified); chip-to-chip bandwidth is an estimate; racks of ~576 chips are linked into larger systems; price assumes a ~$20k card over 3 years plus hosting',
  },
];

const aliases: Record<string, string> = {
  h100sxm: 'h100', h10080gb: 'h100', h100sxm80gb: 'h100',
  h200sxm: 'h200', h200141gb: 'h200',
  b200sxm: 'b200', dgxb200: 'b200', hgxb200: 'b200',
  gb200nvl72: 'gb200',
  instinctmi300x: 'mi300x', instinctmi325x: 'mi325x',
  gaudi: 'gaudi3', hlgaudi3: 'gaudi3',
  v5e: 'tpu-v5e', tpuv5e: 'tpu-v5e', tpuv5litepod: 'tpu-v5e',
  v6e: 'tpu-v6e', tpuv6e: 'tpu-v6e', trillium: 'tpu-v6e',
  wse: 'wse3', wse3: 'wse3', cs3: 'wse3', cerebras: 'wse3', cerebraswse3: 'wse3',
  groq: 'groq-lpu', lpu: 'groq-lpu', groqlpu: 'groq-lpu',
};

const catalog = new Map<string, Hardware>(builtin.map((h) => [h.id, h]));

export class UnknownHardwareError extends PhysicsInputError {
  constructor(id: string) {
    super(`unknown accelerator '${id}' (known: ${[...catalog.keys()].join(', ')})`);
  }
}

function normalise(id: string): string {
  return id.toLowerCase().replace(/^(nvidia|amd|intel|google)[-_ ]?/, '').replace(/[^a-z0-9]/g, '');
}

/** Look up an accelerator by id or an obvious alias ('H100-SXM', 'nvidia_h200', 'trillium'). */
export function getHardware(id: string): Hardware {
  const direct = catalog.get(id.toLowerCase());
  if (direct) return direct;
  const key = normalise(id);
  for (const h of catalog.values()) if (normalise(h.id) === key) return h;
  const alias = aliases[key];
  if (alias && catalog.has(alias)) return catalog.get(alias)!;
  throw new UnknownHardwareError(id);
}

export function listHardware(): Hardware[] {
  return [...catalog.values()];
}

/** Matmul FLOP/s for weights stored in `dtype` (weight-only formats without a native path run at BF16). */
export function matmulFlops(hw: Hardware, dtype: Dtype): number {
  switch (dtype) {
    case 'fp8': return hw.flops.fp8;
    case 'int8': return hw.flops.int8 ?? hw.flops.bf16;
    case 'fp4': return hw.flops.fp4 ?? hw.flops.bf16; // no FP4 tensor cores (Hopper): dequantised to BF16, like int4
    case 'int4': return hw.flops.bf16; // weight-only int4 (AWQ/GPTQ): dequantised to BF16 for the matmul
    default: return hw.flops.bf16;
  }
}

// ---------- user additions ----------

/** A user entry may give raw fields or convenient units (memoryGiB, bandwidthTBps, bf16Tflops, ...). */
interface HardwareFileEntry {
  id?: unknown; name?: unknown;
  memoryBytes?: unknown; memoryGiB?: unknown; memoryGB?: unknown;
  memBandwidthBytesPerSec?: unknown; bandwidthTBps?: unknown;
  flops?: { bf16?: unknown; fp8?: unknown; fp4?: unknown; int8?: unknown };
  bf16Tflops?: unknown; fp8Tflops?: unknown; fp4Tflops?: unknown; int8Tops?: unknown;
  tdpWatts?: unknown;
  scaleUpBandwidthBytesPerSec?: unknown; scaleUpGBps?: unknown;
  memoryKind?: unknown; hourlyUsd?: unknown; maxScaleUp?: unknown; notes?: unknown;
}

function num(v: unknown, scale: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new PhysicsInputError(`expected a positive number, got ${JSON.stringify(v)}`);
  return v * scale;
}

function entryToHardware(e: HardwareFileEntry, where: string): Hardware {
  const fail = (msg: string): never => { throw new PhysicsInputError(`${where}: ${msg}`); };
  try {
    if (typeof e !== 'object' || e === null) fail('each entry must be an object');
    if (typeof e.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(e.id)) fail("'id' must be a short name like 'my-gpu'");
    const id = (e.id as string).toLowerCase();
    const memoryBytes = num(e.memoryBytes, 1) ?? num(e.memoryGiB, GiB) ?? num(e.memoryGB, GB) ?? fail("needs 'memoryGiB' (or memoryGB / memoryBytes)");
    const bw = num(e.memBandwidthBytesPerSec, 1) ?? num(e.bandwidthTBps, TB) ?? fail("needs 'bandwidthTBps' (or memBandwidthBytesPerSec)");
    const bf16 = num(e.flops?.bf16, 1) ?? num(e.bf16Tflops, T) ?? fail("needs 'bf16Tflops' (or flops.bf16)");
    const fp8 = num(e.flops?.fp8, 1) ?? num(e.fp8Tflops, T) ?? bf16;
    const fp4 = num(e.flops?.fp4, 1) ?? num(e.fp4Tflops, T);
    const int8 = num(e.flops?.int8, 1) ?? num(e.int8Tops, T);
    const kind = e.memoryKind ?? 'hbm';
    if (kind !== 'hbm' && kind !== 'sram') fail("'memoryKind' must be 'hbm' or 'sram'");
    return {
      id,
      name: typeof e.name === 'string' ? e.name : id,
      memoryBytes: memoryBytes as number,
      memBandwidthBytesPerSec: bw as number,
      flops: { bf16: bf16 as number, fp8, ...(fp4 ? { fp4 } : {}), ...(int8 ? { int8 } : {}) },
      tdpWatts: num(e.tdpWatts, 1) ?? 700,
      scaleUpBandwidthBytesPerSec: num(e.scaleUpBandwidthBytesPerSec, 1) ?? num(e.scaleUpGBps, GB) ?? 50 * GB,
      memoryKind: kind as 'hbm' | 'sram',
      hourlyUsd: num(e.hourlyUsd, 1) ?? 2.5,
      maxScaleUp: num(e.maxScaleUp, 1) ?? 8,
      ...(typeof e.notes === 'string' ? { notes: e.notes } : {}),
    };
  } catch (err) {
    const msg = (err as Error).message;
    throw new PhysicsInputError(msg.startsWith(where) ? msg : `${where}: ${msg}`);
  }
}

/** Parse hardware entries from YAML or JSON text: a list, or `{ hardware: [...] }`. Does not register them. */
export function parseHardwareText(text: string, source = 'hardware file'): Hardware[] {
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (err) {
    throw new PhysicsInputError(`${source}: not valid YAML/JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { hardware?: unknown } | null)?.hardware;
  if (!Array.isArray(list)) throw new PhysicsInputError(`${source}: expected a list of accelerators or { hardware: [...] }`);
  if (list.length > 1000) throw new PhysicsInputError(`${source}: too many entries (${list.length} > 1000)`);
  return list.map((e, i) => entryToHardware(e as HardwareFileEntry, `${source} entry ${i + 1}`));
}

/** Add or replace catalog entries from a YAML/JSON file; returns what was added. */
export function loadHardwareFile(path: string): Hardware[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PhysicsInputError(`cannot read hardware file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const added = parseHardwareText(text, path);
  for (const h of added) catalog.set(h.id, h);
  return added;
}
