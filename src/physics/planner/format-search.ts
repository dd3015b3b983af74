// Text table of a search: the ranked options that meet the SLOs, then the losers with their reasons.
import type { OptionResult, SearchResult } from './search.ts';

function row(r: OptionResult, rank: string): string {
  const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  return `${rank.padStart(4)}  ${r.label.padEnd(30)} ${num(r.usdPerMtok, 4).padStart(9)} ${num(r.usdPerMtokOut, 4).padStart(9)} ` +
    `${num(r.usdPerHour, 2).padStart(8)} ${num(r.ttftMs).padStart(7)} ${num(r.tpotMs, 1).padStart(6)} ${num(r.joulesPerOutputToken, 3).padStart(6)}  ${r.reason}`;
}

export function formatSearch(s: SearchResult, top = 15): string {
  const q = s.request;
  const slo = [q.slo.ttftMs !== undefined ? `TTFT <= ${q.slo.ttftMs} ms` : '', q.slo.tpotMs !== undefined ? `TPOT <= ${q.slo.tpotMs} ms` : ''].filter(Boolean).join(', ') || 'no SLO';
  const model = typeof q.model === 'string' ? q.model : q.model.id;
  const lines = [
    `Search: ${model}, ISL ${q.isl} / OSL ${q.osl} at ${q.rate} req/s, ${slo}; ${s.evaluated} options evaluated (estimates from the physics model)`,
    '',
    `rank  ${'option'.padEnd(30)} ${'$/Mtok'.padStart(9)} ${'$/Mtok o'.padStart(9)} ${'$/hour'.padStart(8)} ${'TTFT ms'.padStart(7)} ${'TPOT'.padStart(6)} ${'J/tok'.padStart(6)}  why`,
  ];
  const winners = s.ranked.filter((r) => r.ok);
  if (winners.length === 0) lines.push('      no option meets the workload and the SLOs');
  winners.slice(0, top).forEach((r, i) => lines.push(row(r, String(i + 1))));
  if (winners.length > top) lines.push(`      ... ${winners.length - top} more options meet the SLOs at a higher cost`);
  const losers = s.ranked.filter((r) => !r.ok);
  if (losers.length === 0) {
    lines.push('', 'Every option meets the workload and the SLOs.');
  } else {
    lines.push('', `Options that fail (${losers.length}), closest first:`);
    losers.slice(0, top).forEach((r) => lines.push(row(r, '-')));
    // Summarise why the rest fail, by kind of reason.
    const kinds = new Map<string, number>();
    for (const r of losers) {
      const kind = r.reason.split(':')[0]!.replace(/ on \d+ x .*/, '');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    lines.push(`      all failures: ${[...kinds.entries()].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  }
  return lines.join('\n') + '\n';
}
