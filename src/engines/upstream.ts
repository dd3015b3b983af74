// The adapter for one OpenAI-compatible engine endpoint: an undici Pool with keep-alive and the
// endpoint's own timeouts. The gateway streams through `dispatch` (handler API, so it can pause the
// engine when the client is slow); probes, scrapes and prefill calls use the small helpers below.
// An engine running in this process (in-process.ts) is called directly, with the same handler API.
import { Pool, type Dispatcher } from 'undici';
import { collect, inProcessEngine, type InProcessEngine } from './in-process.ts';
import { engineConnectOptions, type EngineTlsConfig } from '../trust/tls.ts';
import type { EngineType } from './engine-types.ts';

export interface UpstreamTimeouts {
  /** TCP connect. */
  connectMs: number;
  /** From sending the request to the response headers (queueing in the engine counts here). */
  firstByteMs: number;
  /** Longest silence between two body chunks once the response started. */
  idleMs: number;
}

// firstByteMs covers a whole non-streamed completion (headers come with the body), hence minutes.
export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 2_000, firstByteMs: 300_000, idleMs: 60_000 };

export interface UpstreamOptions {
  url: string;
  engineType: EngineType;
  timeouts?: Partial<UpstreamTimeouts>;
  /** Upper bound on open connections (one request each: no pipelining for long streams). */
  maxConnections?: number;
  /** Bearer token the engine itself requires (never the client's key). */
  apiKey?: string;
  /** https engines: the trust layer's TLS profile (post-quantum mode, CA, client cert for mutual TLS). */
  tls?: EngineTlsConfig;
}

/** Bodies read by the helpers (metrics, /slots, prefill responses) are capped at this size. */
export const MAX_HELPER_BODY_BYTES = 4 * 1024 * 1024;

export class Upstream {
  readonly url: string;
  readonly origin: string;
  /** Path prefix when the engine is mounted below the root (rare; usually ''). */
  readonly basePath: string;
  readonly engineType: EngineType;
  readonly timeouts: UpstreamTimeouts;
  readonly authHeader: string | undefined;
  /** Set when the engine runs in this process: no socket, no pool. */
  readonly inProcess: InProcessEngine | undefined;
  private readonly pool: Pool | undefined;

  constructor(options: UpstreamOptions) {
    const parsed = new URL(options.url);
    this.url = options.url;
    this.origin = parsed.origin;
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.engineType = options.engineType;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.authHeader = options.apiKey ? `Bearer ${options.apiKey}` : undefined;
    this.inProcess = options.engineType === 'local' ? inProcessEngine(options.url) : undefined;
    if (this.inProcess) return;
    this.pool = new Pool(this.origin, {
      connections: options.maxConnections ?? 1024,
      pipelining: 1,
      connect: { timeout: this.timeouts.connectMs, ...(options.tls ? engineConnectOptions(options.tls) : {}) },
      headersTimeout: this.timeouts.firstByteMs,
      bodyTimeout: this.timeouts.idleMs,
      keepAliveTimeout: 30_000,
    });
  }

  /** Streams a request with undici's handler API (controller.pause/resume give backpressure). Takes ownership of `opts`. */
  dispatch(opts: Omit<Dispatcher.DispatchOptions, 'origin'>, handler: Dispatcher.DispatchHandler): void {
    if (this.inProcess) {
      opts.headersTimeout = this.timeouts.firstByteMs;
      this.inProcess.dispatch(opts, handler);
      return;
    }
    if (this.basePath) opts.path = this.basePath + opts.path;
    this.pool!.dispatch(opts, handler);
  }

  /** GET a small resource (metrics, health, /slots, /v1/models); the body is size-capped. */
  async getText(path: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    if (this.inProcess) {
      const r = await collect(this.inProcess, { path, method: 'GET', headersTimeout: timeoutMs }, MAX_HELPER_BODY_BYTES);
      return { status: r.status, text: r.body.toString('utf8') };
    }
    const r = await this.pool!.request({
      path: this.basePath + path,
      method: 'GET',
      headers: this.authHeader ? { authorization: this.authHeader } : {},
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await readCapped(r.body);
    return { status: r.statusCode, text: body.toString('utf8') };
  }

  /** POST JSON and read the whole (capped) response; used for the prefill leg of disaggregation. */
  async postJson(path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
    if (this.inProcess) return collect(this.inProcess, { path, method: 'POST', body: JSON.stringify(body), headersTimeout: this.timeouts.firstByteMs }, MAX_HELPER_BODY_BYTES, signal);
    const r = await this.pool!.request({
      path: this.basePath + path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.authHeader ? { authorization: this.authHeader } : {}), ...headers },
      body: JSON.stringify(body),
      signal,
    });
    return { status: r.statusCode, body: await readCapped(r.body) };
  }

  /** Waits for in-flight requests to finish, then closes the connections (an in-process engine's owner closes it). */
  close(): Promise<void> {
    return this.pool?.close() ?? Promise.resolve();
  }

  /** Closes now, failing whatever is in flight. */
  destroy(): Promise<void> {
    return this.pool?.destroy() ?? Promise.resolve();
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_HELPER_BODY_BYTES) {
      body.destroy();
      throw new Error(`upstream body larger than ${MAX_HELPER_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
