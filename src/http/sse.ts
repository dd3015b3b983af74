// Server-sent events as OpenAI streams them: `data: <json>\n\n` per event, then `data: [DONE]\n\n`.
import type { ServerResponse } from 'node:http';

/** The headers of an event stream (besides the connection's own). */
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;
export const SSE_DONE = 'data: [DONE]\n\n';

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { ...SSE_HEADERS, connection: 'keep-alive' });
  res.flushHeaders();
}

/** Writes one event; a response that already ended or whose client left is skipped. */
export function writeSse(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

export function endSse(res: ServerResponse): void {
  if (!res.writableEnded) res.end(SSE_DONE);
}

/** After the status went out an error can only be told in the stream: as its last event. */
export function endSseWithError(res: ServerResponse, errorBody: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.end(`data: ${JSON.stringify(errorBody)}\n\n${SSE_DONE}`);
}
