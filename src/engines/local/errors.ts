// Errors of the local engine, carried to clients in the OpenAI error shape
// {"error": {"message", "type", "param", "code"}} with the HTTP status in `code`, as vLLM does.

export class LocalEngineError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  constructor(status: number, type: string, message: string, param: string | null = null) {
    super(message);
    this.name = 'LocalEngineError';
    this.status = status;
    this.type = type;
    this.param = param;
  }
}

export const badRequest = (message: string, param: string | null = null) =>
  new LocalEngineError(400, 'invalid_request_error', message, param);
export const notFound = (message: string, param: string | null = null) =>
  new LocalEngineError(404, 'not_found_error', message, param);
/** The engine's bounded queues are full: the client may retry (the SDKs retry 429). */
export const overloaded = (message: string) => new LocalEngineError(429, 'rate_limit_error', message);
export const unavailable = (message: string) => new LocalEngineError(503, 'service_unavailable', message);

export function errorBody(err: LocalEngineError): { error: { message: string; type: string; param: string | null; code: number } } {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.status } };
}

/** Any thrown value as a LocalEngineError; unknown failures become 500s that say what failed. */
export function asEngineError(err: unknown, context: string): LocalEngineError {
  if (err instanceof LocalEngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LocalEngineError(500, 'internal_error', `${context}: ${message}`);
}
