// One pool's live KV event feed: a subscriber per engine that publishes KV events (endpoint YAML
// `kvEvents`), all feeding the pool's one precise prefix index, which the scheduler reads. Started
// with the pool, closed when a reload or shutdown retires the pool.
import { feedPreciseIndex } from '../kv/precise-feed.ts';
import type { KvEventSubscription } from '../kv/events/subscriber.ts';
import { PreciseIndex } from '../kv/precise-index.ts';
import type { KvEventsConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';

export class PoolKvFeed {
  readonly index = new PreciseIndex();
  private readonly sources: { endpointId: string; config: KvEventsConfig }[];
  private readonly metrics: GatewayMetrics;
  private readonly logger: Logger;
  private subscriptions: KvEventSubscription[] = [];

  constructor(sources: { endpointId: string; config: KvEventsConfig }[], metrics: GatewayMetrics, logger: Logger) {
    this.sources = sources;
    this.metrics = metrics;
    this.logger = logger;
  }

  get enabled(): boolean {
    return this.sources.length > 0;
  }

  start(): void {
    if (this.subscriptions.length > 0) return;
    for (const { endpointId, config } of this.sources) {
      const events = this.metrics.kvEvents.labels(endpointId);
      this.subscriptions.push(
        feedPreciseIndex(this.index, endpointId, {
          ...config,
          onBatch: (count, info) => {
            events.inc(count);
            if (info.replayed) this.metrics.kvBatchesReplayed.labels(endpointId).inc();
            if (info.publisherRestarted) this.metrics.kvPublisherRestarts.labels(endpointId).inc();
          },
          onError: (err) => {
            this.metrics.kvEventErrors.labels(endpointId).inc();
            this.logger.log('warn', 'KV event stream error', { endpoint: endpointId, error: err.message });
          },
        }),
      );
    }
  }

  async close(): Promise<void> {
    const subs = this.subscriptions;
    this.subscriptions = [];
    await Promise.allSettled(subs.map((s) => s.close()));
  }
}
