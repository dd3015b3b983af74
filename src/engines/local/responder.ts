// Where the local engine writes one answer, whatever carries it: node:http (server.ts) or the
// gateway's dispatch handler in the same process (dispatch.ts). The routes only see this.
import { OPENAI_ERRORS, type ApiError, type ErrorStyle } from '../../http/api-error.ts';

export interface Responder {
  /** Aborted when the client goes away: generation stops at the next token. */
  readonly signal: AbortSignal;
  json(status: number, body: unknown): void;
  text(status: number, body: string, contentType: string): void;
  /** Sends the headers of a server-sent event stream. */
  startSse(): void;
  /**
   * Writes one framed event (`data: ...\n\n`). false: the reader asked for a pause; await
   * drained() before the next, so a slow client holds generation instead of filling memory.
   */
  writeSse(frame: string): boolean;
  /** Resolves when the reader takes more, or is gone. */
  drained(): Promise<void>;
  /** Ends the stream with `data: [DONE]`. */
  endSse(): void;
  /** A JSON error response, or the stream's last event when the stream already started. */
  fail(err: ApiError): void;
  /** Ends without an answer: the request was cancelled and nobody listens. */
  drop(): void;
}

/** OpenAI's error type names with the HTTP status number in `code`, as vLLM writes it. */
export const LOCAL_ERRORS: ErrorStyle = { ...OPENAI_ERRORS, numericCode: true };
