// Self-contained HTML report of a search: the ranking table and an inline SVG plot of cost per
// million tokens against arrival rate, one curve per option (a curve ends where the option
// saturates or misses the SLOs). No scripts, no external assets.
import type { OptionResult, SearchResult } from './search.ts';

export interface Curve {
  label: string;
  points: Array<[number, number | null]>;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
// Options often cost the same to a few percent, so their curves coincide: the first (cheapest) is
// solid and drawn first, the later ones dashed on top of it, so every curve shows through the gaps.
const DASHES = ['', '6 3', '2 2', '8 3 2 3', '3 5', '10 4', '1 3', '5 2 1 2'];

/** Log-scale y (cost spans orders of magnitude), linear x (rate). */
export function costPlotSvg(curves: Curve[], targetRate: number, width = 760, height = 420): string {
  const pad = { l: 70, r: 20, t: 20, b: 50 };
  const all = curves.flatMap((c) => c.points.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1]) && p[1] > 0));
  if (all.length === 0) return '<p>No option meets the SLOs over the plotted rates.</p>';
  const xMax = Math.max(...all.map((p) => p[0]));
  const yMin = Math.min(...all.map((p) => p[1]));
  const yMax = Math.max(...all.map((p) => p[1]));
  const ly0 = Math.floor(Math.log10(yMin));
  const ly1 = Math.max(ly0 + 1, Math.ceil(Math.log10(yMax)));
  const x = (v: number) => pad.l + (v / xMax) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - ((Math.log10(v) - ly0) / (ly1 - ly0)) * (height - pad.t - pad.b);
  // The legend goes under the plot, one row per curve, where it can never cover a curve.
  const legendRow = 16;
  const svgHeight = height + 6 + curves.length * legendRow;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${svgHeight}" viewBox="0 0 ${width} ${svgHeight}" style="max-width:100%;height:auto" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${height - pad.t - pad.b}" fill="none" stroke="#999"/>`);
  for (let e = ly0; e <= ly1; e++) {
    const yy = y(10 ** e).toFixed(1);
    parts.push(`<line x1="${pad.l}" x2="${width - pad.r}" y1="${yy}" y2="${yy}" stroke="#eee"/><text x="${pad.l - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">$${10 ** e >= 1 ? (10 ** e).toFixed(0) : (10 ** e).toPrecision(1)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax * i) / 5;
    parts.push(`<text x="${x(v).toFixed(1)}" y="${height - pad.b + 16}" text-anchor="middle">${Number.isInteger(v) ? v : v.toFixed(v < 10 ? 2 : 1)}</text>`);
  }
  parts.push(`<line x1="${x(targetRate).toFixed(1)}" x2="${x(targetRate).toFixed(1)}" y1="${pad.t}" y2="${height - pad.b}" stroke="#444" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${(x(targetRate) + 4).toFixed(1)}" y="${pad.t + 12}">workload rate</text>`);
  parts.push(`<text x="${(width + pad.l) / 2}" y="${height - 12}" text-anchor="middle">arrival rate (requests/s)</text>`);
  parts.push(`<text transform="translate(16 ${(height - pad.b + pad.t) / 2}) rotate(-90)" text-anchor="middle">$ per million tokens (log)</text>`);
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : '';
    // Break the line where the option stops meeting the SLOs.
    let d = '';
    let pen = false;
    for (const [rx, ry] of c.points) {
      if (ry === null || !Number.isFinite(ry) || ry <= 0) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(rx).toFixed(1)} ${y(ry).toFixed(1)} `;
      pen = true;
    }
    if (d) parts.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2"${dash}><title>${esc(c.label)}</title></path>`);
    // The legend swatch is a piece of the line itself, dashes included.
    const ly = height + 6 + legendRow / 2 + i * legendRow;
    const lx = pad.l;
    parts.push(`<g data-legend><line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>` +
      `<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${esc(c.label)}${d ? '' : ' (misses the SLOs at every plotted rate)'}</text></g>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function tableRows(rows: OptionResult[]): string {
  const n = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  return rows.map((r, i) => `<tr class="${r.ok ? 'ok' : 'lose'}"><td>${r.ok ? i + 1 : '-'}</td><td>${esc(r.label)}</td><td>${n(r.usdPerMtok, 4)}</td><td>${n(r.usdPerMtokOut, 4)}</td>` +
    `<td>${n(r.usdPerHour, 2)}</td><td>${n(r.ttftMs, 0)}</td><td>${n(r.tpotMs, 1)}</td><td>${n(r.joulesPerOutputToken, 3)}</td><td>${esc(r.reason)}</td></tr>`).join('\n');
}

export function searchReportHtml(s: SearchResult, curves: Curve[], top = 40): string {
  const q = s.request;
  const model = typeof q.model === 'string' ? q.model : q.model.id;
  const slo = [q.slo.ttftMs !== undefined ? `TTFT &le; ${q.slo.ttftMs} ms` : '', q.slo.tpotMs !== undefined ? `TPOT &le; ${q.slo.tpotMs} ms` : ''].filter(Boolean).join(', ') || 'no SLO';
  const winners = s.ranked.filter((r) => r.ok).slice(0, top);
  const losers = s.ranked.filter((r) => !r.ok).slice(0, top);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>inferstack plan --search: ${esc(model)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:nth-child(2),td:last-child,th:nth-child(2),th:last-child{text-align:left}td:nth-child(2){white-space:nowrap}tr.lose{color:#777}figure{margin:0}figcaption{margin-top:4px;font-size:12px;color:#555;max-width:760px}</style>
</head><body>
<h1>Deployment search: ${esc(model)}</h1>
<p>ISL ${q.isl} / OSL ${q.osl} at ${q.rate} requests/s, ${slo}. ${s.evaluated} options evaluated. All figures are estimates from inferstack's calibrated physics model (docs/physics.md), not measurements; accelerator prices are assumptions.</p>
<h2>Cost against arrival rate</h2>
<figure>
${costPlotSvg(curves, q.rate)}
<figcaption>The cheapest option on each accelerator that meets the workload, priced at other arrival rates on the same deployment. A curve ends where that deployment saturates or misses the SLOs; the dashed line is the workload's rate.</figcaption>
</figure>
<h2>Options that meet the workload, cheapest first</h2>
<table><tr><th>#</th><th>option</th><th>$/Mtok</th><th>$/Mtok out</th><th>$/hour</th><th>TTFT ms</th><th>TPOT ms</th><th>J/out tok</th><th>why</th></tr>
${tableRows(winners)}
</table>
<h2>Options that fail, closest first</h2>
<table><tr><th>#</th><th>option</th><th>$/Mtok</th><th>$/Mtok out</th><th>$/hour</th><th>TTFT ms</th><th>TPOT ms</th><th>J/out tok</th><th>why</th></tr>
${tableRows(losers)}
</table>
</body></html>
`;
}
