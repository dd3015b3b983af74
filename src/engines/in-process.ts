// Engines that run inside this process (the embedded llama.cpp engine) register here under the URL
// of their HTTP server. The gateway's Upstream for that URL then skips the socket: requests go to
// the engine's `dispatch` (undici's handler API, so the relay, failover and accounting are the same
// code as for a remote engine) and the engine view is read from the engine, not scraped from
// /metrics. The HTTP server stays for other clients (tests, operators reading /metrics or /slots).
import type { Dispatcher } from 'undici';
import type { EngineMetrics } from './scrapers/index.ts';

/** What the engine reads of a request: undici's options; `headersTimeout` is the first-byte limit. */
export interface InProcessRequest {
  path: string;
  method: string;
  body?: Dispatcher.DispatchOptions['body'];
  /** ms from dispatch to the response headers; 0 or undefined: none */
  headersTimeout?: number | null;
}

export interface InProcessEngine {
  /** Answers with the handler's callbacks, like an undici Dispatcher, without a socket. */
  dispatch(req: InProcessRequest, handler: Dispatcher.DispatchHandler): void;
  /** The engine's load as the scheduler reads it (what a scrape of its /metrics would give). */
  metrics(): EngineMetrics;
}

/** Registered engines are few (one per local engine server), so the map stays small. */
const engines = new Map<string, InProcessEngine>();

/** Registers `engine` under its server's base URL; returns the function that removes it. */
export function registerInProcessEngine(url: string, engine: InProcessEngine): () => void {
  const key = normalise(url);
  engines.set(key, engine);
  return () => {
    if (engines.get(key) === engine) engines.delete(key);
  };
}

export function inProcessEngine(url: string): InProcessEngine | undefined {
  return engines.size === 0 ? undefined : engines.get(normalise(url));
}

const normalise = (url: string) => url.replace(/\/+$/, '');

/**
 * One request answered whole (probes, small GETs, the prefill leg): status and body, the body
 * capped at `maxBytes`; rejects on an error, a timeout before the headers, or `signal`.
 */
export function collect(engine: InProcessEngine, req: InProcessRequest, maxBytes: number, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let size = 0;
    const chunks: Buffer[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    const onAbort = () => controller?.abort(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    const settle = () => signal?.removeEventListener('abort', onAbort);
    engine.dispatch(req, {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      },
      onResponseStart(_c, s) {
        status = s;
      },
      onResponseData(c, chunk) {
        size += chunk.length;
        if (size > maxBytes) c.abort(new Error(`in-process body larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      },
      onResponseEnd() {
        settle();
        resolve({ status, body: Buffer.concat(chunks) });
      },
      onResponseError(_c, err) {
        settle();
        reject(err);
      },
    });
  });
}
