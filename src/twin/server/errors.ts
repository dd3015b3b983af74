// Errors as vLLM's OpenAI server writes them: HTTP status plus
// {"error": {"message", "type", "param", "code"}} where `code` is the status number.

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  405: 'MethodNotAllowed',
  413: 'BadRequestError',
  503: 'ServiceUnavailableError',
};

export class TwinApiError extends Error {
  readonly status: number;
  readonly param: string | null;
  constructor(status: number, message: string, param: string | null = null) {
    super(message);
    this.name = 'TwinApiError';
    this.status = status;
    this.param = param;
  }

  body(): { error: { message: string; type: string; param: string | null; code: number } } {
    const type = TYPE_BY_STATUS[this.status] ?? (this.status >= 500 ? 'InternalServerError' : 'BadRequestError');
    return { error: { message: this.message, type, param: this.param, code: this.status } };
  }
}

export const badRequest = (message: string, param: string | null = null) => new TwinApiError(400, message, param);

/** Anything thrown that is not a TwinApiError is our bug: a 500 with a message, never a crash. */
export function asApiError(err: unknown): TwinApiError {
  if (err instanceof TwinApiError) return err;
  return new TwinApiError(500, `internal error in the simulated engine: ${(err as Error)?.message ?? String(err)}`);
}

/** startTwinServer was given options it cannot run with (bad tokenizer file, block counts...). */
export class TwinConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TwinConfigError';
  }
}
