// KV-cache events in vLLM's wire format: one module for both sides (the twin publishes, the router subscribes).
export type { AllBlocksClearedEvent, BlockRemovedEvent, BlockStoredEvent, EventBatch, KvEvent, KvEventEncoding } from './types.ts';
export { encodeEventBatch, eventToWire } from './encode.ts';
export { decodeEventBatch, type DecodeResult } from './decode.ts';
export { normalizeBlockHash } from './hash.ts';
export { KvEventBindError, createKvEventPublisher, type KvEventPublisher, type KvEventPublisherOptions, type KvEventPublisherStats } from './publisher.ts';
export { subscribeKvEvents, type KvBatchInfo, type KvEventSubscriberOptions, type KvEventSubscription, type KvSubscriberStats } from './subscriber.ts';
