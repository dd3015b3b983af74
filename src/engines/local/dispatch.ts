// The embedded engine called in-process: the gateway's undici-style dispatch handler receives the
// response directly (status, SSE frames as Buffers, end), with no HTTP serialisation, loopback
// socket or parser in between. The controller handed to the handler works as undici's does:
// pause() holds delivery (and, through Responder.drained, the generation loop), resume() flushes,
// abort() cancels the request, freeing its sequence at the next token.
import { errors, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../../http/api-error.ts';
import { parseJsonObject } from '../../http/body.ts';
import type { InProcessEngine, InProcessRequest } from '../in-process.ts';
import type { EngineMetrics } from '../scrapers/index.ts';
import type { BodyReader, LocalEngineApp } from './app.ts';
import { SSE_DONE, SSE_HEADERS } from '../../http/sse.ts';
import { LOCAL_ERRORS, type Responder } from './responder.ts';

const JSON_HEADERS: IncomingHttpHeaders = { 'content-type': 'application/json' };

export class LocalDispatch implements InProcessEngine {
  private readonly app: LocalEngineApp;
  private readonly maxBodyBytes: number;

  constructor(app: LocalEngineApp, maxBodyBytes: number) {
    this.app = app;
    this.maxBodyBytes = maxBodyBytes;
  }

  dispatch(req: InProcessRequest, handler: Dispatcher.DispatchHandler): void {
    const exchange = new InProcessExchange(handler, req.headersTimeout ?? 0);
    handler.onRequestStart?.(exchange, {});
    if (exchange.aborted) return; // aborted from onRequestStart: the error is on its way
    void this.app.handle(req.method, req.path, bodyReader(req.body, this.maxBodyBytes), exchange);
  }

  metrics(): EngineMetrics {
    return this.app.view();
  }
}

function bodyReader(body: InProcessRequest['body'], limit: number): BodyReader {
  return async () => {
    if (body !== null && body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new ApiError(400, 'an in-process request body must be a string or bytes', { code: 'invalid_body' });
    }
    const bytes = body === null || body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (bytes.length > limit) throw new ApiError(413, `request body of ${bytes.length} bytes is larger than the limit of ${limit} bytes`, { code: 'request_too_large' });
    return parseJsonObject(bytes);
  };
}

/** One request: the handler's controller on one side, the engine's Responder on the other. */
class InProcessExchange implements Dispatcher.DispatchController, Responder {
  private readonly handler: Dispatcher.DispatchHandler;
  private readonly abortController = new AbortController();
  private reasonValue: Error | null = null;
  private pausedValue = false;
  private started = false;
  /** end or error delivered: nothing more goes to the handler */
  private done = false;
  /** Frames written while paused (bounded: the generation loop waits in drained()). */
  private pending: Buffer[] = [];
  private endPending = false;
  private wake: (() => void) | undefined;
  private headersTimer: NodeJS.Timeout | undefined;

  constructor(handler: Dispatcher.DispatchHandler, headersTimeoutMs: number) {
    this.handler = handler;
    if (headersTimeoutMs > 0) {
      this.headersTimer = setTimeout(() => this.abort(new errors.HeadersTimeoutError()), headersTimeoutMs);
      this.headersTimer.unref();
    }
  }

  // ---- the controller the gateway holds ----
  get aborted(): boolean {
    return this.reasonValue !== null;
  }
  get paused(): boolean {
    return this.pausedValue;
  }
  get reason(): Error | null {
    return this.reasonValue;
  }

  abort(reason: Error): void {
    if (this.reasonValue) return;
    this.reasonValue = reason;
    clearTimeout(this.headersTimer);
    this.abortController.abort(reason);
    this.release();
    // Delivered later, as undici does: the caller finishes its own bookkeeping first.
    if (!this.done) {
      this.done = true;
      queueMicrotask(() => this.handler.onResponseError?.(this, reason));
    }
  }

  pause(): void {
    this.pausedValue = true;
  }

  resume(): void {
    this.pausedValue = false;
    while (this.pending.length > 0 && !this.pausedValue && !this.done) this.deliver(this.pending.shift()!);
    if (this.endPending && this.pending.length === 0 && !this.pausedValue) this.end();
    if (!this.pausedValue) this.release();
  }

  // ---- the Responder the engine writes to ----
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  json(status: number, body: unknown): void {
    this.whole(status, JSON_HEADERS, JSON.stringify(body));
  }

  text(status: number, body: string, contentType: string): void {
    this.whole(status, { 'content-type': contentType }, body);
  }

  startSse(): void {
    this.start(200, SSE_HEADERS);
  }

  writeSse(frame: string): boolean {
    this.push(Buffer.from(frame));
    return !this.pausedValue || this.done;
  }

  drained(): Promise<void> {
    if (!this.pausedValue || this.done) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  endSse(): void {
    this.push(Buffer.from(SSE_DONE));
    this.finish();
  }

  fail(err: ApiError): void {
    const body = JSON.stringify(err.body(LOCAL_ERRORS));
    if (!this.started) return this.whole(err.status, JSON_HEADERS, body);
    this.push(Buffer.from(`data: ${body}\n\n${SSE_DONE}`)); // the stream's last event, as over HTTP
    this.finish();
  }

  drop(): void {
    if (!this.done) this.abort(new Error('the local engine cancelled the request'));
  }

  // ---- delivery ----
  private whole(status: number, headers: IncomingHttpHeaders, body: string): void {
    this.start(status, headers);
    this.push(Buffer.from(body));
    this.finish();
  }

  private start(status: number, headers: IncomingHttpHeaders): void {
    if (this.done || this.started) return;
    this.started = true;
    clearTimeout(this.headersTimer);
    this.handler.onResponseStart?.(this, status, headers, '');
  }

  private push(chunk: Buffer): void {
    if (this.done) return;
    if (this.pausedValue || this.pending.length > 0) this.pending.push(chunk);
    else this.deliver(chunk);
  }

  private deliver(chunk: Buffer): void {
    this.handler.onResponseData?.(this, chunk);
  }

  private finish(): void {
    if (this.pending.length > 0 || this.pausedValue) this.endPending = true;
    else this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.endPending = false;
    this.handler.onResponseEnd?.(this, {});
  }

  private release(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
