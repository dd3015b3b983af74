// Turns a cluster run into the per-policy report: latency summaries in ms, output throughput,
// prefix hit rate next to the trace's infinite-cache ceiling, shed requests and load spread.
import { median, percentile, percentileLead, scaleSummary, type LatencySummary } from '../../bench/stats.ts';
import type { ClusterResult } from './cluster.ts';

/** The --json shape, exactly the keys the issue names. */
export interface PolicyReport {
  ttft_ms: LatencySummary;
  itl_ms: LatencySummary;
  e2e_ms: LatencySummary;
  throughput_tok_s: number;
  prefix_hit_rate: number;
  ceiling_hit_rate: number;
  shed: number;
}

/** Extra facts for the human-readable table. */
export interface PolicyDetails {
  completed: number;
  failed: number;
  preemptions: number;
  /** The engines' own counters (hits / queries), which count a preempted request again. */
  engineHitRate: number;
  /** Busiest replica's request count over the mean of its role group, worst group (1 = perfectly even). */
  spread: number;
  requestsPerReplica: number[];
  wallSeconds: number;
  /** How the policy's TTFT predictions (inferstack's) compare with the simulated TTFTs; absent for policies that do not predict. */
  ttftPrediction?: TtftPredictionCheck;
}

export interface TtftPredictionCheck {
  requests: number;
  medianAbsErrorMs: number;
  /** Simulated minus predicted, ms (+ = slower than predicted). */
  signedErrorMs: { p10: number; p50: number; p90: number };
}

export function toReport(r: ClusterResult, ceiling: number): PolicyReport {
  return {
    ttft_ms: scaleSummary(r.ttft.summary(), 1000),
    itl_ms: scaleSummary(r.itl.summary(), 1000),
    e2e_ms: scaleSummary(r.e2e.summary(), 1000),
    throughput_tok_s: r.makespan > 0 ? r.outputTokens / r.makespan : 0,
    prefix_hit_rate: r.promptTokens > 0 ? r.cachedPromptTokens / r.promptTokens : 0,
    ceiling_hit_rate: ceiling,
    shed: r.shed,
  };
}

export function toDetails(r: ClusterResult, wallSeconds: number): PolicyDetails {
  let spread = 1;
  for (const role of new Set(r.roles)) {
    const n = r.requestsPerReplica.filter((_, i) => r.roles[i] === role);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    if (mean > 0) spread = Math.max(spread, Math.max(...n) / mean);
  }
  return {
    completed: r.completed,
    failed: r.failed,
    preemptions: r.preemptions,
    engineHitRate: r.prefixQueriedTokens > 0 ? r.prefixHitTokens / r.prefixQueriedTokens : 0,
    spread,
    requestsPerReplica: r.requestsPerReplica,
    wallSeconds,
    ...(r.ttftPredictionError.count > 0 ? { ttftPrediction: predictionCheck(r.ttftPredictionError.values()) } : {}),
  };
}

function predictionCheck(errors: Float64Array): TtftPredictionCheck {
  const sorted = Float64Array.from(errors).sort();
  const ms = (p: number) => 1000 * percentile(sorted, p);
  return { requests: sorted.length, medianAbsErrorMs: 1000 * median(sorted.map(Math.abs)), signedErrorMs: { p10: ms(10), p50: ms(50), p90: ms(90) } };
}

/** One line per policy that predicts TTFT: how far its predictions were from what the twins did. */
export function formatTtftPredictions(rows: Array<{ policy: string; details: PolicyDetails }>): string {
  return rows
    .filter((r) => r.details.ttftPrediction)
    .map(({ policy, details }) => {
      const c = details.ttftPrediction!;
      const e = c.signedErrorMs;
      return `${policy}'s TTFT prediction (at each decision, against the simulated TTFT from it), ${c.requests} requests: median |error| ${f0(c.medianAbsErrorMs)} ms; simulated - predicted p10/p50/p90 ${[e.p10, e.p50, e.p90].map(f0).join('/')} ms\n`;
    })
    .join('');
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A fixed-width table, one row per policy. */
export function formatTable(rows: Array<{ policy: string; report: PolicyReport; details: PolicyDetails }>): string {
  const header = ['policy', 'TTFT mean/p50/p90/p99 ms', 'ITL mean/p50/p90/p99 ms', 'E2E mean/p50/p90/p99 ms', 'out tok/s', 'hit rate (ceiling)', 'shed', 'spread'];
  const lines = rows.map(({ policy, report: r, details: d }) => [
    policy,
    [r.ttft_ms.mean, r.ttft_ms.p50, r.ttft_ms.p90, r.ttft_ms.p99].map(f0).join('/'),
    [r.itl_ms.mean, r.itl_ms.p50, r.itl_ms.p90, r.itl_ms.p99].map((x) => (Number.isFinite(x) ? x.toFixed(1) : '-')).join('/'),
    [r.e2e_ms.mean, r.e2e_ms.p50, r.e2e_ms.p90, r.e2e_ms.p99].map(f0).join('/'),
    f0(r.throughput_tok_s),
    `${pct(r.prefix_hit_rate)} (${pct(r.ceiling_hit_rate)})`,
    String(r.shed + (d.failed ? ` +${d.failed} failed` : '')),
    `${d.spread.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), ...lines.map(fmt)].join('\n') + '\n';
}

/**
 * Each policy's p90 TTFT against the lowest, with the 95 % interval over resamples of the trace's
 * requests (the same requests under both policies), so a difference the trace cannot resolve reads
 * as such. Empty for fewer than two policies.
 */
export function formatP90Comparison(rows: Array<{ policy: string; report: PolicyReport; ttftByRequest: ArrayLike<number> }>): string {
  const ranked = rows.filter((r) => Number.isFinite(r.report.ttft_ms.p90));
  if (ranked.length < 2) return '';
  const best = ranked.reduce((a, b) => (b.report.ttft_ms.p90 < a.report.ttft_ms.p90 ? b : a));
  const lines = ranked
    .filter((r) => r !== best)
    .map((r) => {
      // percentileLead says how much lower the best is (1 - best/other); other/best - 1 = lead / (1 - lead).
      const l = percentileLead(best.ttftByRequest, r.ttftByRequest);
      const higher = (lead: number) => pct(lead / (1 - lead));
      return `  ${r.policy}: ${higher(l.lead)} higher (95 % interval ${higher(l.lo)} to ${higher(l.hi)})`;
    });
  return [`p90 TTFT against the lowest (${best.policy}, ${f0(best.report.ttft_ms.p90)} ms), over resamples of the trace's requests:`, ...lines].join('\n') + '\n';
}

const TAIL_SECONDS = [0.5, 1, 2, 5];

/**
 * How each policy spreads waiting: the share of served requests whose TTFT exceeds 0.5 / 1 / 2 / 5 s and
 * the sum of all TTFTs. A percentile alone can be won by leaving a few requests to wait very long;
 * this shows where the wait went. Empty for fewer than two policies.
 */
export function formatTtftTail(rows: Array<{ policy: string; ttftByRequest: ArrayLike<number> }>): string {
  if (rows.length < 2) return '';
  const width = Math.max(...rows.map((r) => r.policy.length));
  const lines = rows.map(({ policy, ttftByRequest: t }) => {
    let n = 0;
    let total = 0;
    const over = TAIL_SECONDS.map(() => 0);
    for (let i = 0; i < t.length; i++) {
      const v = t[i]!;
      if (!Number.isFinite(v)) continue; // a shed request has no TTFT (the table counts it)
      n++;
      total += v;
      TAIL_SECONDS.forEach((s, k) => (over[k]! += v > s ? 1 : 0));
    }
    return `  ${policy.padEnd(width)}  ${over.map((c) => pct(n > 0 ? c / n : 0)).join(' / ')}; ${f0(total)} s`;
  });
  return [`TTFT tail: share of requests over ${TAIL_SECONDS.join(' / ')} s; the sum of all TTFTs:`, ...lines].join('\n') + '\n';
}
