// Writing JSON, text and error responses with node:http.
import type { ServerResponse } from 'node:http';
import { OPENAI_ERRORS, type ApiError, type ErrorStyle } from './api-error.ts';
import { endSseWithError } from './sse.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes `err` as a JSON error response, unless headers already went out (then the caller ends the stream). */
export function sendError(res: ServerResponse, err: ApiError, requestId?: string, style: ErrorStyle = OPENAI_ERRORS): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(err.body(style));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...err.headers,
  };
  if (requestId) headers['x-request-id'] = requestId;
  // Clients (the official SDKs) retry 429 and 5xx by default; say explicitly when a retry is pointless.
  if (err.status >= 500 && err.status !== 503 && err.status !== 504) headers['x-should-retry'] ??= 'false';
  // A body we refused to read: close the connection so its rest is never parsed as a next request.
  if (err.status === 413) headers.connection = 'close';
  res.writeHead(err.status, headers);
  res.end(payload);
}

/** An error as a JSON response or, when a stream already started, as its last SSE event. */
export function replyWithError(res: ServerResponse, err: ApiError, style: ErrorStyle): void {
  if (res.writableEnded || res.destroyed) return; // nobody to tell
  if (res.headersSent) endSseWithError(res, err.body(style));
  else sendError(res, err, undefined, style);
}
