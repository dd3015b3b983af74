// Feeds the precise index from one engine's KV event stream (one subscriber per engine, with the
// subscriber's gap replay). A publisher restart means its cache was rebuilt from nothing: forget
// what the index knew of that engine before applying the new batches.
import { subscribeKvEvents, type KvBatchInfo, type KvEventSubscription } from './events/subscriber.ts';
import type { PreciseIndex } from './precise-index.ts';

export interface PreciseFeedOptions {
  /** The engine's KV event PUB endpoint, e.g. tcp://10.0.0.5:5557. */
  endpoint: string;
  replayEndpoint?: string;
  topic?: string;
  onError?: (err: Error) => void;
  /** Told after each batch is applied: how many events it carried, and how it arrived. */
  onBatch?: (events: number, info: KvBatchInfo) => void;
}

export function feedPreciseIndex(index: PreciseIndex, endpointId: string, o: PreciseFeedOptions): KvEventSubscription {
  return subscribeKvEvents({
    endpoint: o.endpoint,
    replayEndpoint: o.replayEndpoint,
    topic: o.topic,
    onError: o.onError,
    onBatch: (batch, info) => {
      if (info.publisherRestarted) index.removeEndpoint(endpointId);
      for (const event of batch.events) index.applyEvent(endpointId, event);
      o.onBatch?.(batch.events.length, info);
    },
  });
}
