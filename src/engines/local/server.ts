// The embedded engine as an OpenAI-compatible HTTP server on loopback. The server also registers
// the engine for in-process calls under its URL (../in-process.ts), so a gateway in this process
// that names that URL reaches the engine without the socket.
import { createServer, type ServerResponse } from 'node:http';
import { listen } from '../../http/listen.ts';
import { readJsonObject } from '../../http/body.ts';
import type { ApiError } from '../../http/api-error.ts';
import { replyWithError, sendJson, sendText } from '../../http/respond.ts';
import { endSse, startSse } from '../../http/sse.ts';
import { registerInProcessEngine } from '../in-process.ts';
import type { ModelRegistry } from './registry.ts';
import { createLocalEngineApp, type LocalEngineOptions } from './app.ts';
import { LocalDispatch } from './dispatch.ts';
import { LOCAL_ERRORS, type Responder } from './responder.ts';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface LocalEngineServerOptions extends LocalEngineOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: any free port */
  port?: number;
  /** largest request body accepted (default 4 MiB) */
  maxBodyBytes?: number;
}

export interface LocalEngineServer {
  url: string;
  registry: ModelRegistry;
  /** The same engine without the socket (what a gateway in this process uses). */
  inProcess: LocalDispatch;
  close(): Promise<void>;
}

export async function startLocalEngineServer(opts: LocalEngineServerOptions): Promise<LocalEngineServer> {
  const app = await createLocalEngineApp(opts);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    void app.handle(req.method ?? 'GET', path, () => readJsonObject(req, maxBodyBytes), new HttpResponder(res));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  let url: string;
  try {
    ({ url } = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1'));
  } catch (err) {
    await app.close(); // the port is taken (or similar): release the models too
    throw err;
  }
  const inProcess = new LocalDispatch(app, maxBodyBytes);
  const unregister = registerInProcessEngine(url, inProcess);
  return {
    url,
    registry: app.registry,
    inProcess,
    async close() {
      unregister();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await app.close();
      await closed;
    },
  };
}

/** A Responder over node:http. */
class HttpResponder implements Responder {
  private readonly res: ServerResponse;
  private readonly abort = new AbortController();

  constructor(res: ServerResponse) {
    this.res = res;
    res.on('close', () => {
      if (!res.writableFinished) this.abort.abort();
    });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  json(status: number, body: unknown): void {
    sendJson(this.res, status, body);
  }

  text(status: number, body: string, contentType: string): void {
    sendText(this.res, status, body, contentType);
  }

  startSse(): void {
    startSse(this.res);
  }

  writeSse(frame: string): boolean {
    const res = this.res;
    return res.writableEnded || res.destroyed ? true : res.write(frame);
  }

  drained(): Promise<void> {
    const res = this.res;
    if (res.destroyed || !res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  endSse(): void {
    endSse(this.res);
  }

  fail(err: ApiError): void {
    replyWithError(this.res, err, LOCAL_ERRORS);
  }

  drop(): void {
    this.res.destroy();
  }
}
