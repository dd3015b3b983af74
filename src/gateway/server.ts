// The gateway: node:http listeners (HTTPS with the trust layer's post-quantum TLS profiles when a
// listener has certificates) in front of the route table, plus reload and shutdown.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { enableCertificateReload, serverTlsOptions, type CertificateReloader } from '../trust/tls.ts';
import type { GatewayConfig, ListenerConfig } from './config.ts';
import { ApiError as GatewayError } from '../http/api-error.ts';
import { createLogger, type Logger } from './logger.ts';
import { GatewayMetrics } from './metrics.ts';
import { createRouter } from './routes.ts';
import { buildState, retireState, startState, type GatewayState } from './state.ts';

/** Open client connections per listener; beyond this new connections are refused. */
const MAX_CLIENT_CONNECTIONS = 20_000;
/** How long close() lets in-flight responses finish before cutting them. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface GatewayOptions {
  config: GatewayConfig;
  logger?: Logger;
  /** Also export Node process metrics (CPU, memory, event loop) on /metrics. */
  processMetrics?: boolean;
}

export interface Gateway {
  /** One base URL per listener, e.g. http://127.0.0.1:8080 (port 0 resolved). */
  readonly urls: string[];
  readonly url: string;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  state(): GatewayState;
  /** Applies a new config without dropping streams in flight (listeners stay as they are). */
  reload(config: GatewayConfig): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, l: ListenerConfig): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? createLogger(options.config.logLevel);
  const metrics = new GatewayMetrics({ processMetrics: options.processMetrics ?? false });
  let state = buildState(options.config, metrics, logger);
  startState(state);
  const router = createRouter({ state: () => state, metrics, logger });
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void router(req, res);

  const servers: Server[] = [];
  const reloaders: CertificateReloader[] = [];
  const urls: string[] = [];
  try {
    for (const l of options.config.listeners) {
      let server: Server;
      if (l.tls) {
        const tlsConfig = { cert: l.tls.cert, key: l.tls.key, pq: l.tls.pq ?? 'prefer' } as const;
        server = createHttpsServer(serverTlsOptions(tlsConfig), onRequest) as unknown as Server;
        reloaders.push(
          enableCertificateReload(server as unknown as import('node:tls').Server, tlsConfig, {
            watchIntervalMs: 5_000,
            onReload: (r) => logger.log(r.ok ? 'info' : 'error', r.ok ? 'TLS certificate reloaded' : (r.error ?? 'TLS reload failed')),
          }),
        );
      } else {
        server = createHttpServer({ keepAliveTimeout: 65_000 }, onRequest);
      }
      server.maxConnections = MAX_CLIENT_CONNECTIONS;
      servers.push(server);
      const addr = await listen(server, l);
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      urls.push(`${l.tls ? 'https' : 'http'}://${host}:${addr.port}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    for (const r of reloaders) r.close();
    await retireState(state, undefined);
    throw err;
  }

  return {
    urls,
    url: urls[0]!,
    metrics,
    logger,
    state: () => state,
    async reload(config) {
      const old = state;
      const next = buildState(config, metrics, logger, old);
      startState(next);
      state = next;
      logger.level = config.logLevel;
      if (JSON.stringify(config.listeners) !== JSON.stringify(old.config.listeners)) {
        logger.log('warn', 'listener changes take effect on restart only');
      }
      logger.log('info', 'config reloaded', { pools: next.pools.map((p) => p.name) });
      // Endpoints that left the config close once their in-flight streams end.
      void retireState(old, next);
    },
    async close() {
      for (const r of reloaders) r.close();
      for (const p of state.pools) p.queue.drain(new GatewayError(503, 'gateway shutting down'));
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              const force = setTimeout(() => s.closeAllConnections(), SHUTDOWN_GRACE_MS);
              force.unref();
              s.close(() => {
                clearTimeout(force);
                resolve();
              });
              s.closeIdleConnections();
            }),
        ),
      );
      await retireState(state, undefined);
    },
  };
}
