// Human-readable text of a plan (the CLI's default output).
import type { OperatingPoint } from '../serving-model.ts';
import type { Plan } from './plan.ts';

export const ms = (s: number): string => (Number.isFinite(s) ? `${(s * 1e3).toFixed(s < 0.1 ? 2 : 1)} ms` : 'unbounded');
export const tok = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(x < 100 ? 1 : 0)} tok/s` : 'n/a');
export const usd = (x: number): string => (Number.isFinite(x) ? `$${x < 0.1 ? x.toFixed(4) : x.toFixed(3)}` : 'n/a');
const gib = (x: number): string => `${x.toFixed(2)} GiB`;
const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

function point(label: string, p: OperatingPoint): string {
  const sat = p.saturated ? ' (SATURATED: the rate exceeds capacity)' : '';
  const queue = p.queued > 0 && Number.isFinite(p.queued) ? `, ${p.queued.toFixed(0)} waiting for admission` : '';
  return `  ${label.padEnd(28)} TTFT ${ms(p.ttftSec)}, TPOT ${ms(p.tpotSec)}, ${tok(p.outputTokS)} out (${tok(p.inputTokS)} in), ` +
    `${p.running.toFixed(1)} running${queue}, limited by ${p.limitedBy}${sat}`;
}

export function formatPlan(p: Plan): string {
  const d = p.deployment;
  const m = p.memory;
  const r = p.roofline;
  const e = p.operatingEconomics;
  const lines: string[] = [];
  lines.push(`${d.model.name} on ${d.tp} x ${d.hardware.name}, weights ${d.weightDtype}, KV ${d.kvDtype}, ${d.engine} profile; ISL ${p.workload.isl} / OSL ${p.workload.osl}`);
  lines.push('(estimates from the calibrated physics model, not measurements; see docs/physics.md)');
  lines.push('');
  lines.push('Memory per GPU');
  lines.push(`  usable ${gib(m.usableGiBPerGpu)} of ${gib(m.memoryGiBPerGpu)}: weights ${gib(m.weightsGiBPerGpu)}, activations ${gib(m.activationGiBPerGpu)}, runtime ${gib(m.runtimeGiBPerGpu)}, KV cache ${gib(m.kvGiBPerGpu)}`);
  const fixed = m.fixedKvBytesPerSequence > 0 ? ` + ${(m.fixedKvBytesPerSequence / 2 ** 20).toFixed(2)} MiB fixed per sequence (sliding windows / state)` : '';
  lines.push(`  KV: ${m.kvBytesPerToken} B/token per GPU${fixed}; ${m.kvBlocks} blocks of ${m.blockSize} = ${m.kvTokens} tokens`);
  lines.push(`  max concurrency at ${p.workload.isl + p.workload.osl} tokens/request: ${m.maxConcurrency} (engine cap ${m.engineMaxSeqs} sequences)`);
  lines.push('');
  lines.push(`Roofline (ridge ${r.ridgeFlopsPerByte.toFixed(0)} FLOP/B)`);
  for (const ph of [r.prefill, r.decode]) {
    lines.push(`  ${ph.description}: ${ph.stepMs.toFixed(2)} ms, ${ph.flopsPerByte.toFixed(1)} FLOP/B, ${ph.bound}-bound (mostly ${ph.dominant}; ` +
      `linear ${pct(ph.shares.linear + ph.shares.experts)}, attention ${pct(ph.shares.attention)}, all-reduce ${pct(ph.shares.allReduce)}, overheads ${pct(ph.shares.overhead)})`);
  }
  lines.push('');
  lines.push('Operating points');
  const opLabel = p.workload.concurrency !== undefined ? `at concurrency ${p.workload.concurrency}` : p.workload.rate !== undefined ? `at ${p.workload.rate} req/s` : 'at unlimited rate';
  lines.push(point(opLabel, p.operating));
  lines.push(point('max throughput', p.maxThroughput));
  const sloText = [p.slo.ttftMs !== undefined ? `TTFT <= ${p.slo.ttftMs} ms` : '', p.slo.tpotMs !== undefined ? `TPOT <= ${p.slo.tpotMs} ms` : ''].filter(Boolean).join(', ') || 'no SLO given';
  if ('point' in p.withinSlo) lines.push(point(`within SLO (c=${p.withinSlo.concurrency})`, p.withinSlo.point) + ` [${sloText}]`);
  else lines.push(`  within SLO                   none: ${p.withinSlo.reason} [${sloText}]`);
  lines.push('');
  lines.push(`Economics ${opLabel} (${usd(p.prices.gpuHourUsd)}/GPU-hour, ${usd(p.prices.energyUsdPerKwh)}/kWh, PUE ${p.prices.pue})`);
  lines.push(`  ${usd(e.usdPerMtokInput)} per Mtok input, ${usd(e.usdPerMtokOutput)} per Mtok output (${usd(p.maxThroughputEconomics.usdPerMtokOutput)} at max throughput)`);
  lines.push(`  power ${e.wattsPerDevice.toFixed(0)} W/GPU of ${d.hardware.tdpWatts} W TDP (compute ${pct(e.computeUtilisation)}, bandwidth ${pct(e.bandwidthUtilisation)} utilised); ` +
    `${e.joulesPerOutputToken.toFixed(3)} J per output token`);
  lines.push(`  energy ${usd(e.energyUsdPerHour)}/hour of ${usd(e.gpuUsdPerHour + e.energyUsdPerHour)}/hour total: ${(e.energyShare * 100).toFixed(1)}% of the cost`);
  return lines.join('\n') + '\n';
}
