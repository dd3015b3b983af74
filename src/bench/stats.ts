// Latency statistics shared by the simulator, the gateway and the routing benchmarks.
import { seededRandom } from '../util/seeded-random.ts';

export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** The p-th percentile (0..100) of ascending-sorted values, interpolating linearly between ranks (numpy's default). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * The same percentile as `percentile`, of values in any order, found by selection (quickselect)
 * instead of a sort: linear on average, for the bootstrap's thousands of resamples. Reorders `values`.
 */
export function percentileUnsorted(values: Float64Array, p: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const below = select(values, lo);
  if (lo + 1 >= n || rank === lo) return below;
  // The next order statistic is the least value above position lo (selection left them unordered there).
  let above = Infinity;
  for (let i = lo + 1; i < n; i++) if (values[i]! < above) above = values[i]!;
  return below + (above - below) * (rank - lo);
}

/** Hoare-style quickselect: puts the k-th smallest at index k, smaller values before it, larger after. */
function select(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const pivot = a[(left + right) >>> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k]!;
}

/** Mean, p50, p90 and p99 of the values (NaN for none). The input is not modified. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** The median of the values (NaN for none). The input is not modified. */
export function median(values: ArrayLike<number>): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

/** A fraction as a percentage with one decimal ("12.3%"); `signed` adds "+" to non-negative values. */
export function percentText(x: number, signed = false): string {
  return `${signed && x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
}

export interface LeadInterval {
  /** 1 - percentile(ours) / percentile(theirs) over the pairs: 0.1 = ours is 10 % lower. */
  lead: number;
  /** The central `level` interval of that lead over resamples of the pairs. */
  lo: number;
  hi: number;
  pairs: number;
}

/**
 * How sure a percentile lead is: `ours[i]` and `theirs[i]` are the same request under two policies
 * (NaN where it has no value in either, e.g. shed); the pairs are resampled with replacement
 * (paired bootstrap, seeded) and the lead recomputed on each resample. It measures how much the
 * percentile depends on which requests the trace happens to hold, not how another arrival seed
 * would go.
 */
export function percentileLead(ours: ArrayLike<number>, theirs: ArrayLike<number>, opts: LeadOptions = {}): LeadInterval {
  return pooledPercentileLead([ours], [theirs], { ...opts, perRequest: true });
}

export interface LeadOptions {
  p?: number;
  resamples?: number;
  level?: number;
  seed?: number;
}

/**
 * The lead over several runs of one workload (another arrival seed each), pooled: the percentile of
 * all their requests together. Requests of one run share its bursts, so the interval resamples
 * whole runs (a cluster bootstrap); `perRequest` resamples single pairs instead.
 */
export function pooledPercentileLead(oursByRun: ArrayLike<number>[], theirsByRun: ArrayLike<number>[], opts: LeadOptions & { perRequest?: boolean } = {}): LeadInterval {
  const { p = 90, resamples = 1000, level = 0.95, seed = 1 } = opts;
  if (oursByRun.length !== theirsByRun.length) throw new RangeError(`runs differ in number: ${oursByRun.length} and ${theirsByRun.length}`);
  const a: number[] = [];
  const b: number[] = [];
  const starts = [0]; // resampled units: a unit is a[starts[k], starts[k + 1])
  oursByRun.forEach((ours, r) => {
    const theirs = theirsByRun[r]!;
    if (ours.length !== theirs.length) throw new RangeError(`paired samples differ in length: ${ours.length} and ${theirs.length}`);
    for (let i = 0; i < ours.length; i++) {
      if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i])) {
        a.push(ours[i]!);
        b.push(theirs[i]!);
        if (opts.perRequest) starts.push(a.length);
      }
    }
    if (!opts.perRequest && a.length > starts.at(-1)!) starts.push(a.length);
  });
  const n = a.length;
  const leadOf = (x: Float64Array, y: Float64Array) => 1 - percentileUnsorted(x, p) / percentileUnsorted(y, p);
  const lead = leadOf(Float64Array.from(a), Float64Array.from(b));
  if (n === 0) return { lead, lo: Number.NaN, hi: Number.NaN, pairs: 0 };
  const units = starts.length - 1;
  let widest = 0;
  for (let k = 0; k < units; k++) widest = Math.max(widest, starts[k + 1]! - starts[k]!);
  const random = seededRandom(seed);
  const leads = new Float64Array(resamples);
  const x = new Float64Array(widest * units);
  const y = new Float64Array(widest * units);
  for (let r = 0; r < resamples; r++) {
    let m = 0;
    for (let k = 0; k < units; k++) {
      const u = Math.floor(random() * units);
      for (let i = starts[u]!; i < starts[u + 1]!; i++, m++) {
        x[m] = a[i]!;
        y[m] = b[i]!;
      }
    }
    leads[r] = leadOf(x.subarray(0, m), y.subarray(0, m));
  }
  leads.sort();
  const tail = ((1 - level) / 2) * 100;
  return { lead, lo: percentile(leads, tail), hi: percentile(leads, 100 - tail), pairs: n };
}

/** Scales every field of a summary (e.g. seconds to milliseconds). */
export function scaleSummary(s: LatencySummary, factor: number): LatencySummary {
  return { mean: s.mean * factor, p50: s.p50 * factor, p90: s.p90 * factor, p99: s.p99 * factor };
}

/**
 * A bounded sample of a stream of numbers: every value until `capacity`, then a uniform reservoir
 * sample (Algorithm R with a seeded generator, so runs are reproducible).
 */
export class SampleBuffer {
  private data: Float64Array;
  private size = 0;
  private seen = 0;
  private sum = 0;
  private rng: number;
  readonly capacity: number;

  constructor(capacity = 1_000_000, seed = 1) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.data = new Float64Array(Math.min(capacity, 1024));
    this.rng = seed >>> 0 || 1;
  }

  /** Values offered so far (kept or not). */
  get count(): number {
    return this.seen;
  }

  push(value: number): void {
    this.seen++;
    this.sum += value;
    if (this.size < this.capacity) {
      if (this.size === this.data.length) {
        const next = new Float64Array(Math.min(this.capacity, this.data.length * 2));
        next.set(this.data);
        this.data = next;
      }
      this.data[this.size++] = value;
      return;
    }
    // xorshift32: replace a random slot with probability capacity / seen. The slot is
    // floor(r x seen / 2^32): a multiply instead of r % seen's division, as a simulator pushes every
    // inter-token gap.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    const j = Math.floor(this.rng * this.seen * 2.3283064365386963e-10);
    if (j < this.capacity) this.data[j] = value;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.size);
  }

  /** Percentiles of the sample; the mean is exact, over every value offered. */
  summary(): LatencySummary {
    return { ...summarize(this.values()), mean: this.seen ? this.sum / this.seen : Number.NaN };
  }
}
