// The OpenAI error shape, used for every error the gateway returns, and the normalisation of the
// error bodies engines send (vLLM puts the HTTP status number in `error.code`).
import type { ServerResponse } from 'node:http';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  502: 'upstream_error',
  503: 'service_unavailable_error',
  504: 'timeout_error',
};

function typeForStatus(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

/** An error that becomes an HTTP response in the OpenAI shape. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, opts: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.type = opts.type ?? typeForStatus(status);
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null) => new GatewayError(400, message, { param, code: 'invalid_value' });

/** Writes `err` as a JSON error response, unless headers already went out (then the caller ends the stream). */
export function sendError(res: ServerResponse, err: GatewayError, requestId?: string): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(err.body());
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...err.headers,
  };
  if (requestId) headers['x-request-id'] = requestId;
  // Clients (the official SDKs) retry 429 and 5xx by default; say explicitly when a retry is pointless.
  if (err.status >= 500 && err.status !== 503 && err.status !== 504) headers['x-should-retry'] ??= 'false';
  res.writeHead(err.status, headers);
  res.end(payload);
}

/**
 * Turns an engine's error body into the OpenAI shape. Accepts OpenAI's own shape, vLLM's (numeric
 * `code`, sometimes the error fields at top level), FastAPI's `{detail}` and plain text.
 */
export function normaliseUpstreamError(status: number, body: Buffer): GatewayError {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const inner = (obj.error && typeof obj.error === 'object' ? obj.error : obj) as Record<string, unknown>;
  const message =
    typeof inner.message === 'string' ? inner.message
    : typeof obj.error === 'string' ? obj.error
    : typeof obj.detail === 'string' ? obj.detail
    : text.trim().slice(0, 500) || `upstream returned HTTP ${status}`;
  const code = inner.code === undefined || inner.code === null ? null : typeof inner.code === 'number' ? null : String(inner.code);
  return new GatewayError(status, message, {
    type: typeof inner.type === 'string' && inner.type ? inner.type : undefined,
    param: typeof inner.param === 'string' ? inner.param : null,
    code,
  });
}
