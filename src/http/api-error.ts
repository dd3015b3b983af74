// The one error class of every HTTP server here (gateway, twin, local engine): an HTTP status and
// the OpenAI error body {"error": {"message", "type", "param", "code"}}. Servers differ only in how
// they write the body, chosen by an ErrorStyle when the error is sent:
// - OPENAI_ERRORS (gateway): OpenAI's type names, `code` a string or null;
// - VLLM_ERRORS (twin): vLLM's type names (its exception classes), the HTTP status number in `code`;
// - { ...OPENAI_ERRORS, numericCode: true } (local engine): OpenAI's type names, numeric `code`.

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | number | null };
}

export interface ErrorStyle {
  /** The `type` for a status, when the error does not name one itself. */
  typeFor(status: number): string;
  /** vLLM writes the HTTP status number in `code`; OpenAI a string such as 'invalid_value', or null. */
  numericCode: boolean;
}

const OPENAI_TYPES: Record<number, string> = {
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

const VLLM_TYPES: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  405: 'MethodNotAllowed',
  413: 'BadRequestError',
  503: 'ServiceUnavailableError',
};

export const OPENAI_ERRORS: ErrorStyle = {
  typeFor: (status) => OPENAI_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
  numericCode: false,
};

export const VLLM_ERRORS: ErrorStyle = {
  typeFor: (status) => VLLM_TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError'),
  numericCode: true,
};

export interface ApiErrorOptions {
  type?: string;
  param?: string | null;
  code?: string | null;
  /** sent with the error response (retry-after, www-authenticate...) */
  headers?: Record<string, string>;
}

/** An error that becomes an HTTP response in the OpenAI error shape. */
export class ApiError extends Error {
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  /** The type the thrower named, if any; otherwise the style picks one from the status. */
  readonly namedType: string | undefined;
  constructor(status: number, message: string, opts: ApiErrorOptions = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.namedType = opts.type;
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  /** The type in OpenAI's naming. */
  get type(): string {
    return this.namedType ?? OPENAI_ERRORS.typeFor(this.status);
  }

  body(style: ErrorStyle = OPENAI_ERRORS): OpenAIErrorBody {
    return {
      error: {
        message: this.message,
        type: this.namedType ?? style.typeFor(this.status),
        param: this.param,
        code: style.numericCode ? this.status : this.code,
      },
    };
  }
}

export const badRequest = (message: string, param: string | null = null) => new ApiError(400, message, { param, code: 'invalid_value' });
export const notFound = (message: string, param: string | null = null) => new ApiError(404, message, { param });

/** Anything thrown that is not an ApiError is our bug: a 500 that says what failed, never a crash. */
export function asApiError(err: unknown, context: string): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(500, `${context}: ${err instanceof Error ? err.message : String(err)}`);
}
