// The inference routes (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses): authenticate,
// read and check the body, find the pool, ask the scheduler (waiting while saturated), then
// proxy (or disaggregate) and record the outcome.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseJsonObject, readBody } from '../http/body.ts';
import { runDisaggregated } from './disagg.ts';
import { ApiError as GatewayError } from '../http/api-error.ts';
import { sendError } from '../http/respond.ts';
import { forward, type ForwardResult } from './forward.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import { parseOpenAIRequest, schedulingRequest, type RouteKind } from './openai-request.ts';
import type { GatewayState } from './state.ts';

export interface InferenceDeps {
  state(): GatewayState;
  metrics: GatewayMetrics;
  logger: Logger;
}

const PATHS: Record<RouteKind, string> = { chat: '/v1/chat/completions', completions: '/v1/completions', embeddings: '/v1/embeddings', responses: '/v1/responses' };

export async function handleInference(kind: RouteKind, req: IncomingMessage, res: ServerResponse, requestId: string, deps: InferenceDeps): Promise<void> {
  const startedAt = performance.now();
  const state = deps.state();
  const { metrics, logger } = deps;
  let model = 'unknown';
  let result: ForwardResult | undefined;
  metrics.inflightRequests++;
  // Aborts queue waits and the prefill leg when the client leaves before the response starts.
  // Made only when one of those needs it: most requests never wait.
  let abort: AbortController | undefined;
  const onClose = () => abort!.abort();
  const clientGone = (): AbortSignal => {
    if (!abort) {
      abort = new AbortController();
      if (res.destroyed) abort.abort();
      else res.once('close', onClose);
    }
    return abort.signal;
  };
  try {
    state.apiKeys.check(req);
    const raw = await readBody(req, state.config.limits.maxBodyBytes);
    const body = parseJsonObject(raw);
    const parsed = parseOpenAIRequest(kind, body);
    const pool = state.byModel.get(parsed.model);
    if (!pool) throw new GatewayError(404, `model '${parsed.model}' does not exist`, { param: 'model', code: 'model_not_found' });
    model = parsed.model;
    const session = req.headers['x-session-token'];
    const tokenized = pool.tokenizer ? await pool.tokenizer.tokenize(kind, parsed.model, body) : undefined;
    const scheduling = schedulingRequest(requestId, parsed, {
      tokenized,
      sessionToken: typeof session === 'string' ? session : undefined,
      cacheSalt: typeof body.cache_salt === 'string' ? body.cache_salt : undefined,
      lora: pool.adapters.has(parsed.model) ? parsed.model : undefined,
      blockSize: pool.blockSize,
    });
    const decision = pool.route(scheduling, clientGone);
    const routed = decision instanceof Promise ? await decision : decision;
    const path = PATHS[kind];
    result = routed.prefill
      ? await runDisaggregated({ pool, scheduling, path, res, requestId, startedAt, metrics, body, rawBody: raw, decode: routed.endpoints, prefill: routed.prefill[0]!, cached: routed.cached, logger, signal: clientGone() })
      : await forward({ pool, scheduling, path, res, requestId, startedAt, metrics, targets: routed.endpoints, body: raw, cached: routed.cached });
  } catch (err) {
    const gatewayErr = err instanceof GatewayError ? err : new GatewayError(500, 'internal error');
    if (!(err instanceof GatewayError)) logger.log('error', 'unexpected error', { requestId, error: String((err as Error)?.stack ?? err) });
    if (!res.destroyed) sendError(res, gatewayErr, requestId);
    result = { status: gatewayErr.status, outcome: 'rejected', chunks: 0, attempts: 0 };
  } finally {
    if (abort) res.off('close', onClose);
    metrics.inflightRequests--;
  }
  const status = result.outcome === 'client_abort' && !res.headersSent ? 499 : result.status;
  const seconds = (performance.now() - startedAt) / 1000;
  metrics.countRequest(model, result.endpointId ?? 'none', String(status));
  if (result.outcome === 'ok') metrics.observeE2e(model, seconds);
  const level = status >= 500 || result.outcome === 'stream_error' ? 'warn' : 'info';
  if (logger.enabled(level)) {
    logger.log(level, 'request', {
      requestId,
      route: kind,
      model,
      endpoint: result.endpointId ?? null,
      status,
      outcome: result.outcome,
      attempts: result.attempts,
      ms: Math.round(seconds * 1e4) / 10,
    });
  }
}
