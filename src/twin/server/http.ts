// Small node:http helpers for the twin: bounded JSON bodies, JSON and error replies, SSE framing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TwinApiError, asApiError, badRequest } from './errors.ts';

/** Every response says the engine is simulated. */
export const SIMULATED_HEADERS = { 'x-inferstack-simulated': 'true' } as const;

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new TwinApiError(413, `request body of ${declared} bytes is larger than the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new TwinApiError(413, `request body is larger than the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...SIMULATED_HEADERS,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { ...SIMULATED_HEADERS, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an error in vLLM's shape; once a stream has started, the error goes out as an SSE event instead. */
export function sendError(res: ServerResponse, err: unknown): void {
  const api = asApiError(err);
  if (res.headersSent) {
    if (!res.writableEnded) {
      writeSse(res, api.body());
      res.end('data: [DONE]\n\n');
    }
    return;
  }
  // A request we refused to read fully: close the connection so the rest of the body is not parsed as a new request.
  sendJson(res, api.status, api.body(), api.status === 413 ? { connection: 'close' } : {});
}

export function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    ...SIMULATED_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
}

export function writeSse(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

export function endSse(res: ServerResponse): void {
  if (!res.writableEnded) res.end('data: [DONE]\n\n');
}
