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
      // vLLM's data-parallel ranks publish on port + rank (replay likewise), each its own cache.
      const ranks = config.dataParallelSize ?? 1;
      const rankIds = ranks > 1 ? Array.from({ length: ranks }, (_, r) => `${endpointId}#dp${r}`) : [endpointId];
      if (ranks > 1) this.index.setRanks(endpointId, rankIds);
      rankIds.forEach((indexId, rank) => this.subscriptions.push(
        feedPreciseIndex(this.index, indexId, {
          endpoint: withPortOffset(config.endpoint, rank),
          ...(config.replayEndpoint ? { replayEndpoint: withPortOffset(config.replayEndpoint, rank) } : {}),
          ...(config.topic !== undefined ? { topic: config.topic } : {}),
          onBatch: (count, info) => {
            events.inc(count);
            if (info.replayed) this.metrics.kvBatchesReplayed.labels(endpointId).inc();
            if (info.publisherRestarted) this.metrics.kvPublisherRestarts.labels(endpointId).inc();
          },
          onError: (err) => {
            this.metrics.kvEventErrors.labels(endpointId).inc();
            this.logger.log('warn', 'KV event stream error', { endpoint: endpointId, ...(ranks > 1 ? { rank } : {}), error: err.message });
          },
        }),
      ));
    }
  }

  async close(): Promise<void> {
    const subs = this.subscriptions;
    this.subscriptions = [];
    await Promise.allSettled(subs.map((s) => s.close()));
  }
}

/** tcp://host:5557 with `offset` 2 is tcp://host:5559. */
export function withPortOffset(endpoint: string, offset: number): string {
  if (offset === 0) return endpoint;
  const m = /^(.*):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`KV event endpoint ${endpoint} has no port to offset for data-parallel ranks`);
  return `${m[1]}:${Number(m[2]) + offset}`;
}
