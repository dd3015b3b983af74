// One subscriber per engine: SUB socket on the engine's KV event endpoint, sequence tracking, and
// replay of a gap from the engine's ROUTER (last seen seq + 1, as AIBrix does). The router's precise
// prefix index consumes batches through `onBatch`, in sequence order.
import * as zmq from 'zeromq';
import { decodeEventBatch } from './decode.ts';
import type { EventBatch } from './types.ts';
import { DEFAULT_BUFFER_STEPS, END_SEQ, decodeSeq, encodeSeq } from './wire.ts';

export interface KvBatchInfo {
  seq: bigint;
  topic: string;
  /** True when the batch came from the replay socket after a gap. */
  replayed: boolean;
  /** Events in the batch that could not be decoded and were left out. */
  skippedEvents: number;
  /** First batch after the publisher restarted (its seq went back): drop what you knew of its cache. */
  publisherRestarted: boolean;
}

export interface KvEventSubscriberOptions {
  endpoint: string;
  replayEndpoint?: string;
  /** ZMQ prefix filter; all topics when absent. */
  topic?: string;
  onBatch(batch: EventBatch, info: KvBatchInfo): void;
  onError?(err: Error): void;
  /** Messages ZMQ may queue for us before it drops (SUB receive high-water mark). */
  maxQueue?: number;
  /** Larger messages are refused by ZMQ itself. */
  maxMessageBytes?: number;
  replayTimeoutMs?: number;
  /** Fault injection: live messages for which this returns true are discarded as if lost on the wire. */
  dropLive?(seq: bigint): boolean;
}

export interface KvSubscriberStats {
  delivered: number;
  replayed: number;
  undecodable: number;
  skippedEvents: number;
  gaps: number;
  /** Batches known missing that replay could not supply. */
  lost: number;
  restarts: number;
  lastSeq: bigint | undefined;
}

export interface KvEventSubscription {
  stats(): KvSubscriberStats;
  close(): Promise<void>;
}

export function subscribeKvEvents(options: KvEventSubscriberOptions): KvEventSubscription {
  const maxMessageBytes = options.maxMessageBytes ?? 64 << 20;
  const replayTimeoutMs = options.replayTimeoutMs ?? 2000;
  const sub = new zmq.Subscriber({ receiveHighWaterMark: options.maxQueue ?? 100_000, maxMessageSize: maxMessageBytes, linger: 0 });
  sub.connect(options.endpoint);
  sub.subscribe(options.topic ?? '');

  let closed = false;
  let lastSeq: bigint | undefined;
  /** Set when the publisher's seq went back; the next batch handed to onBatch carries the flag. */
  let pendingRestart = false;
  let replayDealer: zmq.Dealer | undefined;
  const s: KvSubscriberStats = { delivered: 0, replayed: 0, undecodable: 0, skippedEvents: 0, gaps: 0, lost: 0, restarts: 0, lastSeq: undefined };

  function report(message: string): void {
    if (closed || !options.onError) return;
    try {
      options.onError(new Error(`kv events ${options.endpoint}: ${message}`));
    } catch {
      // An onError that throws must not stop the subscription.
    }
  }

  function deliver(seq: bigint, topic: string, payload: Uint8Array, replayed: boolean): void {
    lastSeq = seq;
    const result = decodeEventBatch(payload);
    if (!result.ok) {
      s.undecodable++;
      report(`undecodable batch seq ${seq}: ${result.error}`);
      return;
    }
    s.delivered++;
    if (replayed) s.replayed++;
    const publisherRestarted = pendingRestart;
    pendingRestart = false;
    s.skippedEvents += result.skippedEvents;
    try {
      options.onBatch(result.batch, { seq, topic, replayed, publisherRestarted, skippedEvents: result.skippedEvents });
    } catch (err) {
      report(`onBatch threw: ${(err as Error).message}`);
    }
  }

  /** Asks the replay socket for [from, until) and delivers what it has, in order. */
  async function recover(from: bigint, until: bigint, topic: string): Promise<void> {
    if (!options.replayEndpoint) {
      s.lost += Number(until - from);
      report(`gap: batches ${from}..${until - 1n} lost (no replay endpoint)`);
      return;
    }
    const dealer = new zmq.Dealer({ receiveTimeout: replayTimeoutMs, maxMessageSize: maxMessageBytes, linger: 0 });
    replayDealer = dealer;
    let expected = from;
    try {
      dealer.connect(options.replayEndpoint);
      await dealer.send([Buffer.alloc(0), encodeSeq(from)]);
      // The publisher sends at most its buffer; the bound guards against a misbehaving one.
      for (let i = 0; i <= DEFAULT_BUFFER_STEPS * 10 && expected < until; i++) {
        const frames = await dealer.receive();
        const seq = frames.length === 3 ? decodeSeq(frames[1]!) : undefined;
        if (seq === undefined) {
          s.undecodable++;
          continue;
        }
        if (seq === END_SEQ || seq >= until) break;
        if (seq < expected) continue;
        if (seq > expected) {
          s.lost += Number(seq - expected);
          report(`gap: batches ${expected}..${seq - 1n} already gone from the publisher's replay buffer`);
        }
        deliver(seq, topic, frames[2]!, true);
        expected = seq + 1n;
      }
    } catch (err) {
      if (!closed) report(`replay from ${from} failed: ${(err as Error).message}`);
    } finally {
      dealer.close();
      replayDealer = undefined;
    }
    if (expected < until) {
      s.lost += Number(until - expected);
      report(`gap: batches ${expected}..${until - 1n} not recovered by replay`);
    }
  }

  async function handle(frames: Buffer[]): Promise<void> {
    const seq = frames.length === 3 ? decodeSeq(frames[1]!) : undefined;
    if (seq === undefined) {
      s.undecodable++;
      report(`malformed message: ${frames.length} frames, expected [topic, seq, payload]`);
      return;
    }
    if (options.dropLive?.(seq)) return;
    const topic = frames[0]!.toString('utf8');
    if (lastSeq !== undefined && seq <= lastSeq) {
      // Live messages never repeat (replay only fills seqs below the live one), so a seq that goes
      // back means the publisher restarted and counts from 0 again: its cache is empty, and the
      // batches before this one (from 0) are worth replaying.
      pendingRestart = true;
      s.restarts++;
      report(`publisher restarted (seq went from ${lastSeq} to ${seq})`);
      lastSeq = -1n;
    }
    if (lastSeq !== undefined && seq > lastSeq + 1n) {
      s.gaps++;
      await recover(lastSeq + 1n, seq, topic);
    }
    deliver(seq, topic, frames[2]!, false);
  }

  const loop = (async () => {
    try {
      for await (const frames of sub) {
        if (closed) break;
        await handle(frames);
      }
    } catch (err) {
      if (!closed) report(`subscriber stopped: ${(err as Error).message}`);
    }
  })();

  return {
    stats: () => ({ ...s, lastSeq }),
    async close() {
      if (closed) return;
      closed = true;
      sub.close();
      replayDealer?.close();
      await loop;
    },
  };
}
