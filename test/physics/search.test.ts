import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHardware } from '../../src/physics/hardware.ts';
import { compare } from '../../src/physics/planner/compare.ts';
import { costPlotSvg, searchReportHtml } from '../../src/physics/planner/html-report.ts';
import { enumerateOptions, reportCurves, search } from '../../src/physics/planner/search.ts';
import { parseTrace } from '../../src/physics/planner/trace-workload.ts';
import { formatSearch } from '../../src/physics/planner/format-search.ts';

const workload = { model: 'llama-3.1-8b', isl: 1000, osl: 200, rate: 20, slo: { ttftMs: 1000, tpotMs: 40 } };

test('the search space covers count x TP x dtype x aggregated and P:D splits', () => {
  const opts = enumerateOptions(getHardware('h100'), { ...workload, maxGpus: 8 });
  assert.ok(opts.some((o) => o.mode === 'disaggregated' && o.pd![0] === 1 && o.pd![1] === 3));
  assert.ok(opts.every((o) => o.tp <= o.count && o.count % o.tp === 0));
  assert.deepEqual([...new Set(opts.map((o) => o.dtype))].sort(), ['bf16', 'fp8', 'int4']);
  assert.ok(enumerateOptions(getHardware('b200'), workload).some((o) => o.dtype === 'fp4'));
});

test('search ranks working options by cost and says why every other option loses', () => {
  const r = search(workload);
  assert.ok(r.evaluated >= 500, `${r.evaluated} options`);
  const winners = r.ranked.filter((x) => x.ok);
  assert.ok(winners.length > 0);
  for (let i = 1; i < winners.length; i++) assert.ok(winners[i]!.usdPerMtok >= winners[i - 1]!.usdPerMtok);
  assert.equal(r.best, winners[0]);
  for (const x of winners) {
    assert.ok(x.ttftMs <= 1000 && x.tpotMs <= 40, x.label);
  }
  for (const x of r.ranked) assert.ok(x.reason.length > 0, x.label);
  const reasons = r.ranked.filter((x) => !x.ok).map((x) => x.reason);
  assert.ok(reasons.some((s) => s.startsWith('saturated')));
  assert.ok(reasons.some((s) => s.startsWith('misses the SLO')) || reasons.some((s) => s.startsWith('does not fit')));
  assert.ok(winners.slice(1).every((x) => /x the cost of the best/.test(x.reason)));
  // Same accelerator, more devices than the winner: called out as over-provisioning.
  const b = r.best!.option;
  const bigger = winners.find((x) => x.option.gpu === b.gpu && x.option.dtype === b.dtype && x.option.count > b.count);
  if (bigger) assert.match(bigger.reason, /over-provisioned/);
  assert.match(formatSearch(r), /rank +option/);
});

test('a model that does not fit anywhere small loses with the memory reason', () => {
  const r = search({ model: 'llama-3.1-405b', isl: 1000, osl: 200, rate: 1, slo: {}, gpus: ['h100'], maxGpus: 2 });
  assert.equal(r.best, null);
  assert.ok(r.ranked.every((x) => !x.ok));
  assert.ok(r.ranked.some((x) => /does not fit on 1 x h100/.test(x.reason)));
});

test('the HTML report is self-contained with an inline SVG, one curve per plotted option', () => {
  const r = search({ ...workload, gpus: ['h100', 'h200', 'mi300x'], maxGpus: 8 });
  const curves = reportCurves(r);
  assert.ok(curves.length >= 2);
  // Cost per token falls as the same deployment serves more traffic, until it stops meeting the SLOs.
  const pts = curves[0]!.points.filter((p) => p[1] !== null) as Array<[number, number]>;
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i]![1] < pts[i - 1]![1]);
  const html = searchReportHtml(r, curves);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<svg[^>]*>[\s\S]*<path d="M/);
  assert.equal((html.match(/<path /g) ?? []).length, curves.filter((c) => c.points.some((p) => p[1] !== null)).length);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  assert.match(costPlotSvg([], 1), /No option meets/);
});

test('compare: SRAM parts win only at tight TPOT SLOs, the GPU wins on $/token once it can batch', () => {
  const r = compare({ model: 'llama-3.1-70b', isl: 1000, osl: 200, gpu: 'h100', sram: 'groq-lpu' });
  assert.ok(r.tpotFloorMs.sram! < r.tpotFloorMs.hbm!);
  assert.notEqual(r.sramWinsBelowTpotMs, null);
  const loose = r.bySlo.find((x) => x.tpotSloMs === 100)!;
  assert.equal(loose.cheaper, 'hbm');
  const tight = r.bySlo.find((x) => x.tpotSloMs === 5)!;
  assert.equal(tight.hbm, null, 'no H100 configuration reaches 5 ms/token for 70B');
  assert.equal(tight.cheaper, 'sram');
  assert.ok(r.summary.some((s) => /By latency SLO/.test(s)));
  assert.throws(() => compare({ model: 'llama-3.1-8b', isl: 10, osl: 10, gpu: 'wse3', sram: 'groq-lpu' }), /--gpu must be an HBM accelerator/);
  assert.throws(() => compare({ model: 'llama-3.1-8b', isl: 10, osl: 10, gpu: 'h100', sram: 'h200' }), /--vs must be an SRAM-resident part/);
});

test('trace workloads: Mooncake JSON lines and Azure-style CSV', () => {
  const jsonl = [0, 500, 1000, 2000].map((t, i) => JSON.stringify({ timestamp: t, input_length: 100 * (i + 1), output_length: 10 })).join('\n');
  const j = parseTrace(jsonl);
  assert.deepEqual({ isl: j.isl, osl: j.osl, requests: j.requests }, { isl: 250, osl: 10, requests: 4 });
  assert.equal(j.rate, 3 / 2); // 3 gaps over 2 seconds
  const csv = 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.000,1000,100\n2023-11-16 18:15:48.000,3000,300\n';
  const c = parseTrace(csv);
  assert.deepEqual({ isl: c.isl, osl: c.osl, rate: c.rate }, { isl: 2000, osl: 200, rate: 0.5 });
  assert.throws(() => parseTrace(''), /empty trace/);
  assert.throws(() => parseTrace('{"timestamp":0}\n{"timestamp":1}'), /needs a timestamp, input tokens and output tokens/);
  assert.throws(() => parseTrace('{"timestamp":0,"input_length":1,"output_length":1}'), /at least two requests/);
  assert.throws(() => parseTrace('{nope'), /line 1 is not JSON/);
});
