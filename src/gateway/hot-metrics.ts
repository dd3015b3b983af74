// Counters and histograms for the request hot path. prom-client's own validate and hash their
// labels into a string on every inc() and observe(), children from labels() included (a few
// microseconds per request, and once per relayed token for the ITL histogram). Here a label set is
// looked up once into a series record that the caller may keep, and counting is a number add.
// They register on a prom-client Registry (which only needs name, help, type and get()), so the
// /metrics text is what prom-client writes for its own counters and histograms.
import type { Registry } from 'prom-client';

/** Series per metric; past it, new label sets are counted under the value `_other` (bounded memory). */
export const MAX_SERIES = 10_000;
const OTHER = '_other';

type Labels = Record<string, string>;

interface ExportedValue {
  value: number;
  labels: Labels;
  metricName?: string;
  sharedLabels?: Labels;
}

abstract class HotMetric<S extends { labels: Labels }> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  private readonly labelNames: readonly string[];
  private readonly index = new Map<string, unknown>();
  private series: S[] = [];
  private other: S | undefined;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    registry.registerMetric(this as never);
  }

  protected abstract create(labels: Labels): S;
  protected abstract export(series: S, out: ExportedValue[]): void;

  /** The series for these label values (in labelNames order); keep it to skip the lookup. */
  seriesFor(...values: string[]): S {
    // A tree of maps, one level per label: no key string is built per lookup.
    let node: Map<string, unknown> = this.index;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let child = node.get(values[i]!) as Map<string, unknown> | undefined;
      if (!child) node.set(values[i]!, (child = new Map()));
      node = child;
    }
    const s = node.get(values[last]!) as S | undefined;
    if (s) return s;
    if (this.series.length < MAX_SERIES) return this.add(node, values);
    return (this.other ??= this.create(this.labelsOf(this.labelNames.map(() => OTHER)))); // the one series past the bound
  }

  private add(leafMap: Map<string, unknown>, values: readonly string[]): S {
    const s = this.create(this.labelsOf(values));
    leafMap.set(values[values.length - 1]!, s);
    this.series.push(s);
    return s;
  }

  private labelsOf(values: readonly string[]): Labels {
    const labels: Labels = {};
    this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
    return labels;
  }

  /** What Registry.metrics() formats (series labels apart from `le`, as prom-client hands them over). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const s of this.series) this.export(s, values);
    if (this.other) this.export(this.other, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** JSON form (Registry.getMetricsAsJSON): every value with all its labels. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const m = await this.getForPromString();
    m.values = m.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } }));
    return m;
  }

  reset(): void {
    this.index.clear();
    this.series = [];
    this.other = undefined;
  }
}

export class CounterSeries {
  readonly labels: Labels;
  value = 0;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  inc(): void {
    this.value++;
  }
}

export class HotCounter extends HotMetric<CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
  protected export(s: CounterSeries, out: ExportedValue[]): void {
    out.push({ value: s.value, labels: s.labels });
  }
}

export class HistogramSeries {
  readonly labels: Labels;
  readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative (the export sums them); the last slot is +Inf only. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    if (!Number.isFinite(v)) return; // a clock oddity must not poison the sum
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class HotHistogram extends HotMetric<HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super(registry, name, help, labelNames);
    this.bounds = bounds;
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  // Same lines, in the same order, as prom-client's Histogram: buckets (cumulative), +Inf, sum, count.
  protected export(s: HistogramSeries, out: ExportedValue[]): void {
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    this.bounds.forEach((le, i) => {
      acc += s.counts[i]!;
      out.push({ value: acc, labels: { le: String(le) }, metricName: bucket, sharedLabels: s.labels });
    });
    out.push({ value: s.count, labels: { le: '+Inf' }, metricName: bucket, sharedLabels: s.labels });
    out.push({ value: s.sum, labels: {}, metricName: `${this.name}_sum`, sharedLabels: s.labels });
    out.push({ value: s.count, labels: {}, metricName: `${this.name}_count`, sharedLabels: s.labels });
  }
}
