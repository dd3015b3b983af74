// Prefill/decode disaggregation with vLLM's NixlConnector protocol (reference/protocols.md section 3).
// Prefill side: a request with do_remote_decode keeps its blocks after finishing; the response's
// kv_transfer_params tell the decode side where to read them. Decode side: given do_remote_prefill,
// it reads the KV from the prefill twin over a real HTTP request (our stand-in for the NIXL read),
// waits bytes / link bandwidth, then tells the prefill twin it is done so the blocks are freed.
// A hold nobody reads is freed after a timeout (vLLM: VLLM_NIXL_ABORT_REQUEST_TIMEOUT, 480 s).
import { setTimeout as sleep } from 'node:timers/promises';
import type { RealtimeTwin } from '../realtime.ts';
import type { KvTransferParams } from './validate.ts';

export const KV_PULL_PATH = '/inferstack/kv/pull';
export const KV_RELEASE_PATH = '/inferstack/kv/release';

export interface PrefillHoldsOptions {
  twin: RealtimeTwin;
  engineId: string;
  host: string;
  /** The port is known only once the server listens. */
  port: () => number;
  tpSize: number;
  blockSize: number;
  kvBytesPerToken: number;
  holdTimeoutSeconds: number;
  /** Bound on blocks held for decode peers, in requests; past it the oldest hold is freed. */
  maxHolds: number;
}

export interface PrefillHoldStats {
  held: number;
  pulled: number;
  released: number;
  expired: number;
}

export interface PulledKv {
  prompt_tokens: number;
  kv_bytes: number;
  block_ids: number[];
}

interface Hold {
  promptTokens: number;
  blockIds: number[];
  timer: NodeJS.Timeout;
  pulled: boolean;
}

export class PrefillHolds {
  private readonly opts: PrefillHoldsOptions;
  private readonly holds = new Map<string, Hold>();
  /** The core does not expose its block ids, so transfer handles are numbered here. */
  private nextBlockId = 0;
  private counts = { pulled: 0, released: 0, expired: 0 };

  constructor(opts: PrefillHoldsOptions) {
    this.opts = opts;
  }

  /** Called when a do_remote_decode request finished: its blocks stay in the core until release. */
  hold(requestId: string, promptTokens: number): KvTransferParams {
    const numBlocks = Math.ceil(promptTokens / this.opts.blockSize);
    const blockIds = Array.from({ length: numBlocks }, () => this.nextBlockId++);
    if (this.holds.size >= this.opts.maxHolds) {
      const oldest = this.holds.keys().next().value!;
      this.free(oldest, 'expired');
    }
    const timer = setTimeout(() => this.free(requestId, 'expired'), this.opts.holdTimeoutSeconds * 1000);
    timer.unref();
    this.holds.set(requestId, { promptTokens, blockIds, timer, pulled: false });
    return {
      do_remote_prefill: true,
      do_remote_decode: false,
      remote_block_ids: blockIds,
      remote_engine_id: this.opts.engineId,
      remote_request_id: requestId,
      remote_host: this.opts.host,
      remote_port: this.opts.port(),
      tp_size: this.opts.tpSize,
    };
  }

  /** A decode peer starts reading. Undefined when the hold is unknown or already freed. */
  pull(requestId: string): PulledKv | undefined {
    const h = this.holds.get(requestId);
    if (!h) return undefined;
    if (!h.pulled) this.counts.pulled++;
    h.pulled = true;
    return { prompt_tokens: h.promptTokens, kv_bytes: h.promptTokens * this.opts.kvBytesPerToken, block_ids: h.blockIds };
  }

  /** The decode peer finished reading: free the blocks. */
  release(requestId: string): boolean {
    return this.free(requestId, 'released');
  }

  stats(): PrefillHoldStats {
    return { held: this.holds.size, ...this.counts };
  }

  close(): void {
    for (const id of [...this.holds.keys()]) this.free(id, 'expired');
  }

  private free(requestId: string, why: 'released' | 'expired'): boolean {
    const h = this.holds.get(requestId);
    if (!h) return false;
    clearTimeout(h.timer);
    this.holds.delete(requestId);
    this.opts.twin.release(requestId);
    this.counts[why]++;
    return true;
  }
}

export interface PullOptions {
  promptTokens: number;
  /** Link bandwidth between the twins, bytes per second. */
  linkBytesPerSecond: number;
  /** --timing instant: no transfer wait. */
  instant: boolean;
  allowedHosts: readonly string[];
  timeoutMs: number;
  signal: AbortSignal;
}

export type PullResult = { ok: true; kvBytes: number; transferSeconds: number } | { ok: false; reason: string };

function peerUrl(host: string, port: number, path: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

async function postJson(url: string, body: unknown, timeoutMs: number, signal: AbortSignal): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** Decode side: read the prompt's KV from the prefill twin named in kv_transfer_params. */
export async function pullRemoteKv(params: KvTransferParams, opts: PullOptions): Promise<PullResult> {
  const { remote_host: host, remote_port: port, remote_request_id: id } = params;
  if (typeof host !== 'string' || !Number.isInteger(port) || typeof id !== 'string') {
    return { ok: false, reason: 'kv_transfer_params lacks remote_host, remote_port or remote_request_id' };
  }
  if (!opts.allowedHosts.includes(host)) return { ok: false, reason: `remote_host ${host} is not an allowed KV peer` };
  try {
    const pulled = await postJson(peerUrl(host, port!, KV_PULL_PATH), { request_id: id }, opts.timeoutMs, opts.signal);
    const kv = pulled.json as Partial<PulledKv> | undefined;
    if (pulled.status !== 200 || typeof kv?.kv_bytes !== 'number') {
      return { ok: false, reason: `prefill peer answered ${pulled.status} to the KV pull of ${id}` };
    }
    let transferSeconds = 0;
    if (!opts.instant) {
      transferSeconds = kv.kv_bytes / opts.linkBytesPerSecond;
      await sleep(transferSeconds * 1000, undefined, { signal: opts.signal });
    }
    // Free the peer's blocks even if the prompt does not match; then the caller recomputes locally.
    await postJson(peerUrl(host, port!, KV_RELEASE_PATH), { request_id: id }, opts.timeoutMs, opts.signal);
    if (kv.prompt_tokens !== opts.promptTokens) {
      return { ok: false, reason: `prefill peer holds ${kv.prompt_tokens} prompt tokens, this request has ${opts.promptTokens}` };
    }
    return { ok: true, kvBytes: kv.kv_bytes, transferSeconds };
  } catch (err) {
    return { ok: false, reason: `KV pull from ${host}:${port} failed: ${(err as Error).message}` };
  }
}
