// Route table: method + path -> handler. Everything unknown is a 404 in the OpenAI shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError as GatewayError } from '../http/api-error.ts';
import { sendError } from '../http/respond.ts';
import { handleInference, type InferenceDeps } from './inference.ts';
import { requestIdOf } from './request-id.ts';

function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': requestId });
  res.end(payload);
}

const CREATED = Math.floor(Date.now() / 1000);

function listModels(deps: InferenceDeps) {
  const data = deps.state().pools.flatMap((pool) => [
    ...pool.models.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'inferstack', root: id, parent: null })),
    ...[...pool.adapters].map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'inferstack', root: id, parent: pool.models[0] ?? null })),
  ]);
  return { object: 'list', data };
}

function readiness(deps: InferenceDeps) {
  const pools = Object.fromEntries(
    deps.state().pools.map((p) => [p.name, { ready: p.ready, healthy: p.endpoints.filter((e) => e.view.healthy).length, endpoints: p.endpoints.length }]),
  );
  return { ready: Object.values(pools).every((p) => p.ready), pools };
}

export function createRouter(deps: InferenceDeps) {
  return async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    const q = req.url!.indexOf('?');
    const path = q === -1 ? req.url! : req.url!.slice(0, q);
    const method = req.method;
    try {
      if (method === 'POST') {
        if (path === '/v1/chat/completions') return await handleInference('chat', req, res, requestId, deps);
        if (path === '/v1/completions') return await handleInference('completions', req, res, requestId, deps);
        if (path === '/v1/embeddings') return await handleInference('embeddings', req, res, requestId, deps);
        if (path === '/v1/responses') return await handleInference('responses', req, res, requestId, deps);
      } else if (method === 'GET') {
        if (path === '/v1/models') {
          deps.state().apiKeys.check(req);
          return sendJson(res, 200, listModels(deps), requestId);
        }
        if (path === '/health') return sendJson(res, 200, { status: 'ok' }, requestId);
        if (path === '/ready') {
          const r = readiness(deps);
          return sendJson(res, r.ready ? 200 : 503, r, requestId);
        }
        if (path === '/metrics') {
          const text = await deps.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          return void res.end(text);
        }
      }
      const known = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/models', '/health', '/ready', '/metrics'].includes(path);
      throw known
        ? new GatewayError(405, `method ${method} not allowed on ${path}`, { type: 'invalid_request_error', code: 'method_not_allowed' })
        : new GatewayError(404, `no route ${method} ${path}`, { code: 'not_found' });
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError(500, 'internal error');
      if (!(err instanceof GatewayError)) deps.logger.log('error', 'unexpected error', { requestId, error: String((err as Error)?.stack ?? err) });
      sendError(res, e, requestId);
    }
  };
}
