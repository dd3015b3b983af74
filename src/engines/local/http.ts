// Small node:http helpers: a bounded JSON body, JSON and error replies, SSE framing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, errorBody, LocalEngineError } from './errors.ts';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new LocalEngineError(413, 'invalid_request_error', `request body of ${declared} bytes is larger than the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new LocalEngineError(413, 'invalid_request_error', `request body is larger than the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** An error as a JSON reply, or as a last SSE event when a stream already started. */
export function sendError(res: ServerResponse, err: LocalEngineError): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.end(`data: ${JSON.stringify(errorBody(err))}\n\ndata: [DONE]\n\n`);
    return;
  }
  if (err.status === 413) res.setHeader('connection', 'close'); // the rest of the body is not read
  sendJson(res, err.status, errorBody(err));
}

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

export function writeSse(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}
