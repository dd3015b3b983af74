// The gateway relays engine errors in its own (OpenAI) style: whatever shape the engine wrote,
// including vLLM's numeric `code`, becomes an ApiError.
import { ApiError } from './api-error.ts';

/**
 * Turns an engine's error body into an ApiError. Accepts OpenAI's own shape, vLLM's (numeric
 * `code`, dropped; sometimes the error fields at top level), FastAPI's `{detail}` and plain text.
 */
export function normaliseUpstreamError(status: number, body: Buffer): ApiError {
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
  return new ApiError(status, message, {
    type: typeof inner.type === 'string' && inner.type ? inner.type : undefined,
    param: typeof inner.param === 'string' ? inner.param : null,
    code,
  });
}
