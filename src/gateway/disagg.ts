// Prefill/decode disaggregation, driven by the gateway when the scheduler's decision carries
// prefill endpoints. Two wire flows (../shared/reference/protocols.md section 3):
// - vLLM NixlConnector: prefill first (max_tokens 1, no stream, kv_transfer_params asking for a
//   remote decode), then the decode call carrying the params the prefill returned, streamed to the
//   client. Prefill 4xx -> returned to the client; prefill 5xx or unreachable -> decode alone with
//   the original body.
// - SGLang: bootstrap_host/port/room added to the body, prefill and decode sent concurrently.
import { randomInt } from 'node:crypto';
import type { EndpointRuntime } from '../engines/endpoint.ts';
import { sendError } from '../http/respond.ts';
import { normaliseUpstreamError } from '../http/upstream-error.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE } from '../scheduler/prefix-match.ts';
import { forward, type ForwardArgs, type ForwardResult } from './forward.ts';
import type { Logger } from './logger.ts';
import { PendingPrefill, uncachedTokens } from './pending-prefill.ts';

export interface DisaggArgs extends Omit<ForwardArgs, 'body' | 'targets'> {
  /** The parsed client body (never mutated). */
  body: Record<string, unknown>;
  /** The client's bytes, sent unchanged when falling back to decode alone. */
  rawBody: Buffer;
  decode: EndpointRuntime[];
  prefill: EndpointRuntime;
  logger: Logger;
  signal: AbortSignal;
}

export const NIXL_PREFILL_PARAMS = {
  do_remote_decode: true,
  do_remote_prefill: false,
  remote_engine_id: null,
  remote_block_ids: null,
  remote_host: null,
  remote_port: null,
};

/** SGLang's default bootstrap port on the prefill server. */
export const SGLANG_BOOTSTRAP_PORT = 8998;

/** The prefill request vLLM's toy proxy sends: one token, not streamed, asking for a remote decode. */
export function nixlPrefillBody(body: Record<string, unknown>): Record<string, unknown> {
  const { stream_options: _drop, ...rest } = body;
  const out: Record<string, unknown> = { ...rest, kv_transfer_params: NIXL_PREFILL_PARAMS, stream: false, max_tokens: 1 };
  if ('max_completion_tokens' in body) out.max_completion_tokens = 1;
  return out;
}

export function sglangBootstrap(prefill: EndpointRuntime): { bootstrap_host: string; bootstrap_port: number; bootstrap_room: number } {
  return {
    bootstrap_host: new URL(prefill.config.url).hostname,
    bootstrap_port: prefill.config.bootstrapPort ?? SGLANG_BOOTSTRAP_PORT,
    // Unique per request; kept within 2^53 so it survives JSON in every client.
    bootstrap_room: randomInt(0, 2 ** 47) * 64 + randomInt(0, 64),
  };
}

/** One prefill call with the same accounting a proxied request gets. */
async function callPrefill(a: DisaggArgs, body: Record<string, unknown>): Promise<{ status: number; body: Buffer } | Error> {
  const ep = a.prefill;
  const blocks = Math.ceil(a.scheduling.promptTokens / (ep.view.metrics.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE));
  ep.begin(a.scheduling.promptTokens, blocks);
  // Pending until the prefill answers (its one token is the whole response), whatever the outcome.
  const pending = new PendingPrefill(ep.view, uncachedTokens(ep.id, a.scheduling.promptTokens, a.cached));
  a.metrics.countRouted(a.pool.name, ep.id, 'prefill');
  try {
    const r = await ep.upstream.postJson(a.path, body, { 'x-request-id': a.requestId }, a.signal);
    ep.recordOutcome(r.status < 500);
    if (r.status >= 500) a.metrics.upstreamErrors.labels(ep.id, `http_${r.status}`).inc();
    return r;
  } catch (err) {
    if (!a.signal.aborted) {
      ep.recordOutcome(false);
      a.metrics.upstreamErrors.labels(ep.id, 'prefill').inc();
    }
    return err as Error;
  } finally {
    ep.end(a.scheduling.promptTokens, blocks);
    pending.settle();
    a.pool.completed(a.scheduling, ep.id);
  }
}

function decodeAlone(a: DisaggArgs, why: string): Promise<ForwardResult> {
  a.logger.log('warn', 'prefill failed, decoding without disaggregation', { requestId: a.requestId, prefill: a.prefill.id, why });
  return forward({ ...a, targets: a.decode, body: a.rawBody });
}

async function nixl(a: DisaggArgs): Promise<ForwardResult> {
  const r = await callPrefill(a, nixlPrefillBody(a.body));
  if (a.signal.aborted) return { status: 499, outcome: 'client_abort', chunks: 0, attempts: 0 };
  if (r instanceof Error) return decodeAlone(a, r.message);
  if (r.status >= 500) return decodeAlone(a, `HTTP ${r.status}`);
  if (r.status >= 400) {
    sendError(a.res, normaliseUpstreamError(r.status, r.body), a.requestId);
    return { status: r.status, outcome: 'upstream_error', chunks: 0, endpointId: a.prefill.id, attempts: 1 };
  }
  let params: unknown;
  try {
    params = (JSON.parse(r.body.toString('utf8')) as { kv_transfer_params?: unknown }).kv_transfer_params;
  } catch {
    params = undefined;
  }
  if (!params || typeof params !== 'object') return decodeAlone(a, 'prefill response carried no kv_transfer_params');
  return forward({ ...a, targets: a.decode, body: JSON.stringify({ ...a.body, kv_transfer_params: params }), kvTransferred: true });
}

async function sglang(a: DisaggArgs): Promise<ForwardResult> {
  const body = JSON.stringify({ ...a.body, ...sglangBootstrap(a.prefill) });
  // Both legs at once: the decode engine pulls the KV from the prefill engine's bootstrap server.
  const prefill = callPrefill(a, JSON.parse(body) as Record<string, unknown>);
  const decode = forward({ ...a, targets: a.decode, body, kvTransferred: true });
  const [p, d] = await Promise.all([prefill, decode]);
  if (p instanceof Error || p.status >= 400) {
    a.logger.log('warn', 'sglang prefill leg failed', { requestId: a.requestId, prefill: a.prefill.id, why: p instanceof Error ? p.message : `HTTP ${p.status}` });
  }
  return d;
}

export function runDisaggregated(a: DisaggArgs): Promise<ForwardResult> {
  return a.prefill.config.engineType === 'sglang' ? sglang(a) : nixl(a);
}
