// The client side of an upstream exchange: relays the engine's response to the client as it
// arrives (SSE chunk by chunk, no buffering), pauses the engine when the client's socket is full,
// cancels the engine request when the client leaves, and turns failures into the OpenAI error
// shape (before the first byte) or an SSE error event and a clean end (after it).
import type { ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ApiError as GatewayError } from '../http/api-error.ts';
import { sendError } from '../http/respond.ts';
import { endSseWithError } from '../http/sse.ts';
import { normaliseUpstreamError } from '../http/upstream-error.ts';
import { AttemptAbandoned } from './interceptors/types.ts';
import type { GatewayMetrics } from './metrics.ts';

/** Error bodies from engines are read up to this size before normalising. */
const MAX_ERROR_BODY = 64 * 1024;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'date', 'server', 'x-request-id']);

// rejected: the gateway answered itself (bad input, no model, no capacity) without an engine.
export type RelayOutcome = 'ok' | 'rejected' | 'upstream_error' | 'client_abort' | 'stream_error';

export interface RelayResult {
  status: number;
  outcome: RelayOutcome;
  chunks: number;
  /** Filled in by the upstream interceptors (the request's `trace`): where it ended up, and how many tries. */
  endpointId?: string;
  attempts: number;
}

export interface RelayContext {
  res: ServerResponse;
  requestId: string;
  model: string;
  /** performance.now() when the gateway received the request. */
  startedAt: number;
  metrics: GatewayMetrics;
}

export function upstreamFailure(err: Error): GatewayError {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GatewayError(504, `upstream timed out: ${err.message}`, { code: 'upstream_timeout' });
  }
  return new GatewayError(502, `upstream request failed: ${err.message}`, { code: 'upstream_unavailable' });
}

export class ClientRelay implements Dispatcher.DispatchHandler {
  readonly done: Promise<RelayResult>;
  /** What `done` resolves with; pass it to the interceptors as the request's trace. */
  readonly result: RelayResult = { status: 0, outcome: 'ok', chunks: 0, attempts: 0 };
  private readonly ctx: RelayContext;
  private resolve!: (r: RelayResult) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private sse = false;
  private errorBody: Buffer[] | undefined; // set while collecting an engine error body
  private errorBodySize = 0;
  private chunks = 0;
  private lastChunkAt = 0;
  private itl: { observe(v: number): void } | undefined;
  private waitingForDrain = false;
  private finished = false;

  constructor(ctx: RelayContext) {
    this.ctx = ctx;
    this.done = new Promise((r) => (this.resolve = r));
    ctx.res.on('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.finished) return;
    // The client went away: cancel the engine request now instead of generating for nobody.
    this.ctx.metrics.clientAborts.labels(this.ctx.model).inc();
    this.controller?.abort(new AttemptAbandoned('client disconnected'));
    this.finish('client_abort');
  };

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.controller?.resume();
  };

  private finish(outcome: RelayOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.res.off('close', this.onClientClose);
    this.ctx.res.off('drain', this.onDrain);
    const r = this.result;
    r.status = this.status || this.ctx.res.statusCode;
    r.outcome = outcome;
    r.chunks = this.chunks;
    this.resolve(r);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) controller.abort(new AttemptAbandoned('client disconnected'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.finished) return;
    this.status = status;
    if (status >= 400) {
      this.errorBody = [];
      return;
    }
    const out: Record<string, string | string[]> = {};
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    }
    out['x-request-id'] = this.ctx.requestId;
    this.sse = String(headers['content-type'] ?? '').startsWith('text/event-stream');
    if (this.sse) {
      out['cache-control'] = 'no-cache';
      out['x-accel-buffering'] = 'no';
    }
    this.ctx.res.writeHead(status, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    if (this.errorBody) {
      this.errorBodySize += chunk.length;
      if (this.errorBodySize <= MAX_ERROR_BODY) this.errorBody.push(chunk);
      return;
    }
    const now = performance.now();
    if (this.sse) {
      if (this.chunks === 0) {
        this.ctx.metrics.observeTtft(this.ctx.model, (now - this.ctx.startedAt) / 1000);
        this.itl = this.ctx.metrics.itlFor(this.ctx.model);
      } else this.itl!.observe((now - this.lastChunkAt) / 1000);
    }
    this.chunks++;
    this.lastChunkAt = now;
    // Backpressure: when the client's socket buffer is full, stop reading from the engine.
    if (!this.ctx.res.write(chunk) && !this.waitingForDrain) {
      this.waitingForDrain = true;
      controller.pause();
      this.ctx.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.finished) return;
    if (this.errorBody) {
      const err = normaliseUpstreamError(this.status, Buffer.concat(this.errorBody));
      sendError(this.ctx.res, err, this.ctx.requestId);
      this.finish('upstream_error');
      return;
    }
    this.ctx.res.end();
    this.finish('ok');
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.finished) return;
    const res = this.ctx.res;
    if (!res.headersSent) {
      const gatewayErr = err instanceof GatewayError ? err : upstreamFailure(err);
      this.status = gatewayErr.status;
      sendError(res, gatewayErr, this.ctx.requestId);
      this.finish('upstream_error');
      return;
    }
    this.ctx.metrics.streamErrors.labels(this.ctx.model).inc();
    if (this.sse) {
      // After the first byte the status is sent; say what happened in the stream and end it.
      const payload = { error: { message: `upstream failed mid-stream: ${err.message}`, type: 'upstream_error', param: null, code: 'upstream_disconnected' } };
      endSseWithError(res, payload);
    } else {
      res.destroy(); // a truncated JSON body cannot be repaired; closing tells the client it is incomplete
    }
    this.finish('stream_error');
  }
}
