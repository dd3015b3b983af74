// One simulated engine in the virtual cluster: a twin core stepped on the shared virtual clock, the
// metrics snapshot the router would scrape, and the router's in-flight accounting for it.
import { createTwinCore, type TwinCoreOptions } from '../../twin/core/engine.ts';
import type { KvCacheEvent, TwinCore } from '../../twin/core/types.ts';
import type { StepTimeModel } from '../../physics/types.ts';
import type { EndpointView } from '../../scheduler/types.ts';
import type { EventQueue } from './event-queue.ts';

export interface ReplicaOptions {
  id: string;
  model: string;
  role: 'prefill' | 'decode' | 'both';
  stepTime: StepTimeModel;
  numGpuBlocks: number;
  blockSize: number;
  recordKvEvents: boolean;
  /** The engine's settings beyond the defaults (vLLM's 256 sequences, 8,192 tokens per step, a synchronous scheduler). */
  engine?: ReplicaEngineOptions;
}

export type ReplicaEngineOptions = Pick<TwinCoreOptions, 'maxNumSeqs' | 'maxNumBatchedTokens' | 'asyncScheduling'>;

export class Replica {
  readonly core: TwinCore;
  /** The view the scheduler sees: mutated in place by scrapes and in-flight accounting. */
  readonly view: EndpointView;
  private busy = false;
  /** Called after every committed step with the cache events it produced. */
  onKvEvents?: (events: KvCacheEvent[], time: number) => void;

  private readonly queue: EventQueue;

  constructor(queue: EventQueue, o: ReplicaOptions) {
    this.queue = queue;
    // The cluster's precise index trusts the twin's hashes (engineHashesAreKeys), so its events need
    // no token ids: copying every prompt into them was a tenth of an event-fed policy's run.
    this.core = createTwinCore({
      stepTime: o.stepTime, numGpuBlocks: o.numGpuBlocks, blockSize: o.blockSize, recordKvEvents: o.recordKvEvents, kvEventTokenIds: false,
      ...o.engine,
    });
    this.view = {
      id: o.id,
      url: `sim://${o.id}`,
      model: [o.model],
      engineType: 'twin',
      role: o.role,
      healthy: true,
      metrics: {},
      inflight: { requests: 0, promptTokens: 0, predictedBlocks: 0, pendingPrefillTokens: 0, pendingPrefillRequests: 0 },
    };
  }

  /** Starts a step if the engine is idle and has work (call after adding a request). */
  kick(): void {
    if (this.busy) return;
    const plan = this.core.planStep(this.queue.now);
    if (!plan) return;
    this.busy = true;
    this.queue.at(this.queue.now + plan.durationSeconds, (t) => {
      this.core.commitStep(t);
      this.busy = false;
      if (this.onKvEvents) {
        const events = this.core.drainKvEvents();
        if (events.length > 0) this.onKvEvents(events, t);
      }
      this.kick();
    });
  }

  /** What a /metrics scrape at `time` would report. */
  scrape(time: number): void {
    const s = this.core.stats();
    const m = this.view.metrics;
    m.waiting = s.waiting;
    m.running = s.running;
    m.kvUsage = s.kvUsage;
    m.blockSize = s.blockSize;
    m.numGpuBlocks = s.numGpuBlocks;
    m.scrapedAt = time;
  }
}
