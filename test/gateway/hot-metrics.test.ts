import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram, MAX_SERIES } from '../../src/gateway/hot-metrics.ts';

const BOUNDS = [0.001, 0.01, 0.1];

test('hot histogram writes the same /metrics text as prom-client for the same observations', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const h = new HotHistogram(ours, 'x_seconds', 'help text', ['model'], BOUNDS);
  const p = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['model'], buckets: BOUNDS, registers: [theirs] });
  // Boundaries are inclusive (le), one value past the last bucket lands in +Inf only.
  for (const [model, v] of [['a', 0.001], ['a', 0.0011], ['a', 0.1], ['a', 7], ['b', 0]] as const) {
    h.seriesFor(model).observe(v);
    p.labels(model).observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  const json = await ours.getMetricsAsJSON();
  assert.deepEqual(json[0]!.values[0], { value: 1, labels: { le: '0.001', model: 'a' }, metricName: 'x_seconds_bucket' });
});

test('hot histogram ignores non-finite values instead of poisoning the sum', async () => {
  const h = new HotHistogram(new Registry(), 'y_seconds', 'h', ['model'], BOUNDS);
  const s = h.seriesFor('m');
  s.observe(Number.NaN);
  s.observe(0.5);
  assert.equal(s.count, 1);
  assert.equal(s.sum, 0.5);
});

test('hot counter: one series per label set, counted under _other past the bound', async () => {
  const registry = new Registry();
  const c = new HotCounter(registry, 'z_total', 'h', ['model', 'status']);
  c.seriesFor('m', '200').inc();
  c.seriesFor('m', '200').inc();
  assert.equal(c.seriesFor('m', '200').value, 2);
  for (let i = 1; i < MAX_SERIES; i++) c.seriesFor(`m${i}`, '200');
  c.seriesFor('new', '500').inc();
  c.seriesFor('newer', '429').inc();
  assert.equal(c.seriesFor('_other', '_other').value, 2);
  assert.match(await registry.metrics(), /z_total\{model="m",status="200"\} 2/);
});
