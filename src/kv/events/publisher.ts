// vLLM's ZmqEventPublisher, in our code: each batch goes out on a PUB socket as
// [topic, seq, payload] and is kept in a bounded ring that a ROUTER socket replays on request.
import * as zmq from 'zeromq';
import { encodeEventBatch } from './encode.ts';
import type { EventBatch, KvEventEncoding } from './types.ts';
import { DEFAULT_BUFFER_STEPS, DEFAULT_HWM, END_SEQ, decodeSeq, encodeSeq } from './wire.ts';

/** The endpoints could not be bound (bad address, port in use): a configuration mistake, not a bug. */
export class KvEventBindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvEventBindError';
  }
}

export interface KvEventPublisherOptions {
  /** e.g. tcp://127.0.0.1:5557; `tcp://127.0.0.1:*` picks a free port. */
  endpoint: string;
  /** ROUTER endpoint for replay; no replay socket when absent. */
  replayEndpoint?: string;
  topic?: string;
  encoding?: KvEventEncoding;
  /** Batches kept for replay (vLLM: buffer_steps). */
  bufferSteps?: number;
  /** PUB high-water mark (vLLM: hwm). */
  hwm?: number;
  /** Batches waiting for the PUB socket; past this the oldest is dropped (subscribers replay the gap). */
  maxPendingSends?: number;
  /**
   * How long a port still held by a publisher that just closed is retried before giving up. ZMQ
   * releases a listening socket on its I/O thread after close() returns, so a publisher restarted
   * on the same port can briefly find it in use.
   */
  bindRetryMs?: number;
}

async function bindWithRetry(socket: zmq.Socket, endpoint: string, retryMs: number): Promise<void> {
  const deadline = Date.now() + retryMs;
  for (;;) {
    try {
      return await socket.bind(endpoint);
    } catch (err) {
      if (!/address already in use/i.test((err as Error).message) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export interface KvEventPublisherStats {
  published: number;
  droppedBeforeSend: number;
  replayRequests: number;
  badReplayRequests: number;
}

export interface KvEventPublisher {
  /** The bound endpoints (with the real port when `*` was asked for). */
  readonly endpoint: string;
  readonly replayEndpoint: string | undefined;
  /** Assigns the next seq, buffers the batch for replay and queues it for sending. Returns the seq. */
  publish(batch: EventBatch): bigint;
  stats(): KvEventPublisherStats;
  close(): Promise<void>;
}

export async function createKvEventPublisher(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
  const encoding = options.encoding ?? 'array';
  const bufferSteps = options.bufferSteps ?? DEFAULT_BUFFER_STEPS;
  const maxPending = options.maxPendingSends ?? 10_000;
  const topic = Buffer.from(options.topic ?? '', 'utf8');

  const pub = new zmq.Publisher({ sendHighWaterMark: options.hwm ?? DEFAULT_HWM, linger: 0 });
  const router = options.replayEndpoint
    // One full replay must fit in the peer's queue, or ROUTER silently drops the tail.
    ? new zmq.Router({ sendHighWaterMark: bufferSteps + 2, linger: 0 })
    : undefined;
  try {
    const retryMs = options.bindRetryMs ?? 1000;
    await bindWithRetry(pub, options.endpoint, retryMs);
    if (router) await bindWithRetry(router, options.replayEndpoint!, retryMs);
  } catch (err) {
    pub.close();
    router?.close();
    throw new KvEventBindError(`cannot bind KV event sockets (${options.endpoint}${options.replayEndpoint ? `, ${options.replayEndpoint}` : ''}): ${(err as Error).message}`);
  }

  let nextSeq = 0n;
  const ring: Array<{ seq: bigint; payload: Uint8Array }> = [];
  const pending: Array<Buffer[]> = [];
  let sending = false;
  let closed = false;
  const stats: KvEventPublisherStats = { published: 0, droppedBeforeSend: 0, replayRequests: 0, badReplayRequests: 0 };

  function record(batch: EventBatch): { seq: bigint; payload: Uint8Array } {
    const entry = { seq: nextSeq++, payload: encodeEventBatch(batch, encoding) };
    ring.push(entry);
    if (ring.length > bufferSteps) ring.shift();
    return entry;
  }

  // zeromq allows one send in flight per socket, so sends are serialised through a bounded queue.
  async function pump(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (pending.length > 0 && !closed) {
        await pub.send(pending.shift()!);
        stats.published++;
      }
    } catch {
      // Closing mid-send rejects the pending send; nothing else to do.
    } finally {
      sending = false;
    }
  }

  async function serveReplay(r: zmq.Router): Promise<void> {
    try {
      for await (const frames of r) {
        const [identity, delimiter, start] = frames;
        const startSeq = frames.length === 3 && delimiter!.byteLength === 0 ? decodeSeq(start!) : undefined;
        if (startSeq === undefined) {
          stats.badReplayRequests++;
          continue;
        }
        stats.replayRequests++;
        // Snapshot first: the ring keeps moving while sends are awaited.
        const wanted = ring.filter((e) => e.seq >= startSeq);
        for (const { seq, payload } of wanted) await r.send([identity!, Buffer.alloc(0), encodeSeq(seq), payload]);
        await r.send([identity!, Buffer.alloc(0), encodeSeq(END_SEQ), Buffer.alloc(0)]);
      }
    } catch {
      // The socket was closed under us.
    }
  }
  const replayLoop = router ? serveReplay(router) : Promise.resolve();

  return {
    endpoint: pub.lastEndpoint ?? options.endpoint,
    replayEndpoint: router ? (router.lastEndpoint ?? options.replayEndpoint) : undefined,
    publish(batch) {
      const { seq, payload } = record(batch);
      if (closed) return seq;
      pending.push([topic, encodeSeq(seq), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]);
      if (pending.length > maxPending) {
        pending.shift();
        stats.droppedBeforeSend++;
      }
      void pump();
      return seq;
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      pending.length = 0;
      pub.close();
      router?.close();
      await replayLoop;
    },
  };
}
