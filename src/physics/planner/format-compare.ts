// Text table of `plan --compare`.
import type { CompareResult, Side } from './compare.ts';

function cell(s: Side | null): string {
  if (!s) return 'does not fit'.padEnd(40);
  return `${String(s.devices).padStart(5)} ${s.tpotMs.toFixed(2).padStart(8)} ${s.outputTokS.toFixed(0).padStart(8)} ${s.usdPerMtokOut.toFixed(3).padStart(9)}    `;
}

export function formatCompare(r: CompareResult): string {
  const q = r.request;
  const lines = [
    `${q.model} (${r.dtype}), ISL ${q.isl} / OSL ${q.osl}: ${r.hbm.name} vs ${r.sram.name} (estimates from the physics model)`,
    '',
    `${'batch'.padStart(5)} | ${r.hbm.id.padEnd(40)}| ${r.sram.id.padEnd(40)}| cheaper`,
    `${''.padStart(5)} | ${'devs  TPOT ms    tok/s  $/Mtok o'.padEnd(40)}| ${'devs  TPOT ms    tok/s  $/Mtok o'.padEnd(40)}|`,
  ];
  for (const row of r.rows) lines.push(`${String(row.batch).padStart(5)} | ${cell(row.hbm)}| ${cell(row.sram)}| ${row.cheaper ?? '-'}`);
  lines.push('', `${'TPOT SLO'.padStart(9)} | ${(r.hbm.id + ' cheapest $/Mtok').padEnd(26)}| ${(r.sram.id + ' cheapest $/Mtok').padEnd(26)}| cheaper`);
  const best = (x: { batch: number; devices: number; usdPerMtokOut: number } | null) => (x ? `$${x.usdPerMtokOut.toFixed(3)} (b${x.batch}, ${x.devices} dev)` : 'cannot meet').padEnd(26);
  for (const row of r.bySlo) lines.push(`${(row.tpotSloMs + ' ms').padStart(9)} | ${best(row.hbm)}| ${best(row.sram)}| ${row.cheaper ?? '-'}`);
  lines.push('', ...r.summary.map((s) => `- ${s}`));
  return lines.join('\n') + '\n';
}
