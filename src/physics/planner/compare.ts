// `plan --compare`: an HBM GPU against an SRAM-resident part (Cerebras WSE-3, Groq LPU) across batch
// sizes. For each batch, each side gets the fewest devices that hold the weights plus that many
// sequences' KV; we then compare latency per token and $ per million output tokens, find where the
// cheaper side flips, and which TPOT SLOs only one side can meet.
import { resolveDeployment, type Deployment } from '../deployment.ts';
import { PhysicsInputError } from '../errors.ts';
import { getHardware, type Hardware } from '../hardware.ts';
import { maxSequencesAtContext } from '../kv-capacity.ts';
import { getModel, weightBytes } from '../models.ts';
import { estimateAtConcurrency } from '../serving-model.ts';
import type { Dtype } from '../types.ts';
import { DEFAULT_ENERGY_PRICE, DEFAULT_PUE, economicsAt } from './economics.ts';

export interface CompareRequest {
  model: string;
  isl: number;
  osl: number;
  gpu: string;
  sram: string;
  dtype?: Dtype;
  batches?: number[];
  energyUsdPerKwh?: number;
  pue?: number;
}

export interface Side {
  devices: number;
  tpotMs: number;
  ttftMs: number;
  outputTokS: number;
  usdPerHour: number;
  usdPerMtokOut: number;
  /** Decode step bound: weights streamed from memory vs everything else. */
  weightReadMs: number;
}

export interface CompareRow {
  batch: number;
  hbm: Side | null;
  sram: Side | null;
  cheaper: 'hbm' | 'sram' | null;
}

export interface SloRow {
  tpotSloMs: number;
  hbm: { batch: number; devices: number; usdPerMtokOut: number } | null;
  sram: { batch: number; devices: number; usdPerMtokOut: number } | null;
  cheaper: 'hbm' | 'sram' | null;
}

export interface CompareResult {
  request: CompareRequest;
  hbm: Hardware;
  sram: Hardware;
  dtype: Dtype;
  rows: CompareRow[];
  /** Smallest batch from which the HBM GPU is cheaper per token (null: never in range). */
  hbmCheaperFromBatch: number | null;
  /** Lowest TPOT each side reaches (batch 1). */
  tpotFloorMs: { hbm: number | null; sram: number | null };
  /** For each TPOT SLO: the cheapest batch on each side that meets it, and who wins. */
  bySlo: SloRow[];
  /** Loosest TPOT SLO at which the SRAM part is still the cheaper (or only) choice; null if never. */
  sramWinsBelowTpotMs: number | null;
  summary: string[];
}

const pow2 = (max: number): number[] => {
  const out: number[] = [];
  for (let n = 1; n <= max; n *= 2) out.push(n);
  return out;
};

/** Device counts (powers of two) of `hw` that hold the weights and `batch` sequences of ISL+OSL: the fewest and up to 8x more. */
function fits(req: CompareRequest, hw: Hardware, dtype: Dtype, batch: number): Deployment[] {
  const limit = hw.memoryKind === 'sram' ? Math.min(hw.maxScaleUp, 4096) : hw.maxScaleUp;
  const out: Deployment[] = [];
  for (const tp of pow2(limit)) {
    if (out.length > 0 && tp > out[0]!.tp * 8) break;
    try {
      const dep = resolveDeployment({ model: req.model, gpu: hw, tp, dtype });
      if (maxSequencesAtContext(dep.kv, req.isl + req.osl) >= batch) out.push(dep);
    } catch (err) {
      if (!(err instanceof PhysicsInputError)) throw err;
    }
  }
  return out;
}

function side(req: CompareRequest, dep: Deployment | null, batch: number): Side | null {
  if (!dep) return null;
  const op = estimateAtConcurrency(dep, { isl: req.isl, osl: req.osl, concurrency: batch });
  const e = economicsAt(dep, op, { gpuHourUsd: dep.hardware.hourlyUsd, energyUsdPerKwh: req.energyUsdPerKwh ?? DEFAULT_ENERGY_PRICE, pue: req.pue ?? DEFAULT_PUE });
  const perDevice = weightBytes(dep.model, dep.weightDtype) / dep.tp;
  return {
    devices: dep.tp,
    tpotMs: op.tpotSec * 1e3,
    ttftMs: op.ttftSec * 1e3,
    outputTokS: op.outputTokS,
    usdPerHour: e.gpuUsdPerHour + e.energyUsdPerHour,
    usdPerMtokOut: e.usdPerMtokOutputAllIn,
    weightReadMs: (perDevice / dep.hardware.memBandwidthBytesPerSec) * 1e3,
  };
}

export function compare(req: CompareRequest): CompareResult {
  const hbm = getHardware(req.gpu);
  const sram = getHardware(req.sram);
  if (hbm.memoryKind !== 'hbm') throw new PhysicsInputError(`--gpu must be an HBM accelerator; ${hbm.id} is SRAM-resident`);
  if (sram.memoryKind !== 'sram') throw new PhysicsInputError(`--vs must be an SRAM-resident part (wse3, groq-lpu); ${sram.id} is HBM`);
  const model = getModel(req.model);
  const dtype = req.dtype ?? (model.defaultDtype === 'bf16' ? 'fp8' : model.defaultDtype);
  const hbmCandidates: Array<{ batch: number; side: Side }> = [];
  const sramCandidates: Array<{ batch: number; side: Side }> = [];
  const rows: CompareRow[] = (req.batches ?? pow2(256)).map((batch) => {
    const hs = fits(req, hbm, dtype, batch).map((d) => side(req, d, batch)!);
    const ss = fits(req, sram, dtype, batch).map((d) => side(req, d, batch)!);
    hbmCandidates.push(...hs.map((x) => ({ batch, side: x })));
    sramCandidates.push(...ss.map((x) => ({ batch, side: x })));
    const h = hs[0] ?? null; // the equal-batch view uses the fewest devices
    const sr = ss[0] ?? null;
    const cheaper = h && sr ? (h.usdPerMtokOut <= sr.usdPerMtokOut ? 'hbm' : 'sram') : h ? 'hbm' : sr ? 'sram' : null;
    return { batch, hbm: h, sram: sr, cheaper };
  });
  const flip = rows.find((r, i) => r.cheaper === 'hbm' && rows.slice(i).every((x) => x.cheaper !== 'sram'));
  const firstH = rows.find((r) => r.hbm)?.hbm ?? null;
  const firstS = rows.find((r) => r.sram)?.sram ?? null;
  const bySlo = sloTable(hbmCandidates, sramCandidates);
  const sramWins = bySlo.filter((x) => x.cheaper === 'sram');
  const result: CompareResult = {
    request: req, hbm, sram, dtype, rows,
    hbmCheaperFromBatch: flip?.batch ?? null,
    tpotFloorMs: { hbm: firstH?.tpotMs ?? null, sram: firstS?.tpotMs ?? null },
    bySlo,
    sramWinsBelowTpotMs: sramWins.length ? sramWins[sramWins.length - 1]!.tpotSloMs : null,
    summary: [],
  };
  result.summary = explain(result, firstH, firstS);
  return result;
}

const SLO_GRID_MS = [1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200];

type Candidate = { batch: number; side: Side };

/** Cheapest configuration per side under each TPOT SLO: the fair comparison (each side picks its batch and device count). */
function sloTable(hbm: Candidate[], sram: Candidate[]): SloRow[] {
  const best = (cands: Candidate[], slo: number) => {
    let out: SloRow['hbm'] = null;
    for (const c of cands) {
      if (c.side.tpotMs <= slo && (!out || c.side.usdPerMtokOut < out.usdPerMtokOut)) out = { batch: c.batch, devices: c.side.devices, usdPerMtokOut: c.side.usdPerMtokOut };
    }
    return out;
  };
  return SLO_GRID_MS.map((tpotSloMs) => {
    const h = best(hbm, tpotSloMs);
    const s = best(sram, tpotSloMs);
    const cheaper = h && s ? (h.usdPerMtokOut <= s.usdPerMtokOut ? 'hbm' : 'sram') : h ? 'hbm' : s ? 'sram' : null;
    return { tpotSloMs, hbm: h, sram: s, cheaper };
  });
}

function explain(r: CompareResult, h: Side | null, s: Side | null): string[] {
  const out: string[] = [];
  const name = `${r.request.model} (${r.dtype})`;
  if (!h || !s) {
    out.push(`${!h ? r.hbm.id : r.sram.id} cannot hold ${name} with a request of ${r.request.isl + r.request.osl} tokens in the device counts tried.`);
    return out;
  }
  out.push(`At batch 1, ${r.hbm.id} needs ${h.devices} device(s) and streams ${h.weightReadMs.toFixed(2)} ms of weights per token from HBM: TPOT ${h.tpotMs.toFixed(2)} ms. ` +
    `${r.sram.id} spreads the weights over ${s.devices} chips of SRAM (${s.weightReadMs.toFixed(3)} ms each): TPOT ${s.tpotMs.toFixed(2)} ms.`);
  if (s.tpotMs < h.tpotMs) {
    const hbmFloor = Math.min(...r.bySlo.filter((x) => x.hbm).map((x) => x.tpotSloMs));
    out.push(`Adding GPUs lowers the GPU's floor (each reads a smaller weight shard per step), but not below about ${hbmFloor} ms here (TP all-reduces and per-layer overheads remain); ` +
      `${r.sram.id} reaches ${s.tpotMs.toFixed(2)} ms.`);
  }
  if (r.hbmCheaperFromBatch !== null) {
    const row = r.rows.find((x) => x.batch === r.hbmCheaperFromBatch)!;
    const why = row.sram!.devices > s.devices
      ? `the SRAM part must add chips to hold every sequence's KV (${row.sram!.devices} chips at this batch)`
      : `its ${row.sram!.devices} chip(s) cost $${row.sram!.usdPerHour.toFixed(2)}/h against $${row.hbm!.usdPerHour.toFixed(2)}/h, more than its ${(row.sram!.outputTokS / row.hbm!.outputTokS).toFixed(1)}x throughput makes up`;
    out.push(`At equal batch, ${r.hbm.id} is cheaper per output token from batch ${r.hbmCheaperFromBatch} on ($${row.hbm!.usdPerMtokOut.toFixed(3)} vs $${row.sram!.usdPerMtokOut.toFixed(3)} per Mtok): ` +
      `one weight read serves the whole batch, while ${why}.`);
  } else {
    out.push(`At equal batch, ${r.sram.id} stays cheaper per token over the batches tried.`);
  }
  if (r.sramWinsBelowTpotMs !== null) {
    const loosest = r.bySlo.find((x) => x.tpotSloMs === r.sramWinsBelowTpotMs)!;
    const hbmFrom = r.bySlo.find((x) => x.tpotSloMs > r.sramWinsBelowTpotMs! && x.cheaper === 'hbm');
    out.push(`By latency SLO (each side batching as far as the SLO allows): up to a TPOT SLO of ${loosest.tpotSloMs} ms the choice is ${r.sram.id}` +
      (loosest.hbm ? ` (cheaper: $${loosest.sram!.usdPerMtokOut.toFixed(3)} vs $${loosest.hbm.usdPerMtokOut.toFixed(3)} per Mtok)` : ` (${r.hbm.id} cannot meet it)`) +
      (hbmFrom ? `; from ${hbmFrom.tpotSloMs} ms on ${r.hbm.id} wins with ${hbmFrom.hbm!.devices} GPU(s) at batch ${hbmFrom.hbm!.batch} ($${hbmFrom.hbm!.usdPerMtokOut.toFixed(3)} vs ${hbmFrom.sram ? '$' + hbmFrom.sram.usdPerMtokOut.toFixed(3) : 'n/a'}).` : '.'));
  } else {
    out.push(`By latency SLO: ${r.hbm.id} is the cheaper choice at every TPOT SLO it can meet; only SLOs below ${h.tpotMs.toFixed(2)} ms need ${r.sram.id}.`);
  }
  const sramCheap = r.rows.filter((x) => x.cheaper === 'sram').map((x) => x.batch);
  if (sramCheap.length) out.push(`${r.sram.id} is cheaper at batch ${sramCheap.join(', ')}.`);
  out.push(`Prices are assumptions ($${r.hbm.hourlyUsd}/h per ${r.hbm.id}, $${r.sram.hourlyUsd}/h per ${r.sram.id}); SRAM-part figures are partly unverified (docs/planner.md).`);
  return out;
}
