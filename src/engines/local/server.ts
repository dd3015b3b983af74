// The embedded engine as an in-process OpenAI-compatible HTTP server on loopback, so the gateway
// treats it as one more upstream of engine type `local`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../../http/listen.ts';
import { ModelRegistry, type RegistryOptions } from './registry.ts';
import { LocalEngineMetrics } from './metrics.ts';
import { handleGeneration } from './completions.ts';
import { AbortedError } from './engine.ts';
import { ApiError, OPENAI_ERRORS, asApiError, notFound, type ErrorStyle } from '../../http/api-error.ts';
import { replyWithError, sendJson, sendText } from '../../http/respond.ts';

/** OpenAI's error type names with the HTTP status number in `code`, as vLLM writes it. */
const LOCAL_ERRORS: ErrorStyle = { ...OPENAI_ERRORS, numericCode: true };

export interface LocalEngineServerOptions extends Omit<RegistryOptions, 'onLoad' | 'onUnload'> {
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
  close(): Promise<void>;
}

export async function startLocalEngineServer(opts: LocalEngineServerOptions): Promise<LocalEngineServer> {
  let metrics: LocalEngineMetrics | undefined;
  const registry = await ModelRegistry.create({
    ...opts,
    onLoad: (model, s) => metrics?.observeColdStart(model, s),
    onUnload: (model, reason) => metrics?.countUnload(model, reason),
  });
  metrics = new LocalEngineMetrics(() => registry.status(), (m) => registry.loadWaiters(m));
  const deps = { registry, metrics, maxBodyBytes: opts.maxBodyBytes ?? 4 * 1024 * 1024 };
  const created = Math.floor(Date.now() / 1000);

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void> = {
    'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    'GET /v1/models': (_req, res) =>
      sendJson(res, 200, {
        object: 'list',
        data: registry.status().map((m) => ({ id: m.name, object: 'model', created, owned_by: 'inferstack-local', status: m.state, loaded: m.state === 'loaded' })),
      }),
    'GET /slots': (_req, res) => sendJson(res, 200, registry.slots()),
    'GET /metrics': async (_req, res) => {
      const { contentType, body } = await metrics.text();
      sendText(res, 200, body, contentType);
    },
    'POST /v1/chat/completions': (req, res) => handleGeneration('chat', req, res, deps),
    'POST /v1/completions': (req, res) => handleGeneration('completion', req, res, deps),
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[`${req.method} ${path}`];
    const handle = async () => {
      if (!route) {
        const known = Object.keys(routes).some((r) => r.endsWith(` ${path}`));
        throw known ? new ApiError(405, `${req.method} is not allowed on ${path}`) : notFound(`no route ${req.method} ${path}`);
      }
      await route(req, res);
    };
    handle().catch((err: unknown) => {
      if (err instanceof AbortedError) {
        res.destroy();
        return;
      }
      replyWithError(res, asApiError(err, 'local engine'), LOCAL_ERRORS);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  let url: string;
  try {
    ({ url } = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1'));
  } catch (err) {
    await registry.close(); // the port is taken (or similar): release the models too
    throw err;
  }
  return {
    url,
    registry,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await registry.close();
      await closed;
    },
  };
}
