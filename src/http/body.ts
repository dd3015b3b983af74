// Request bodies: read with a hard size limit (413 past it, checked against content-length and
// again as bytes arrive) and parsed as one JSON object (400 when not).
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.ts';
import { isObject } from './fields.ts';

function tooLarge(limit: number, declared?: number): ApiError {
  const size = declared === undefined ? 'request body is' : `request body of ${declared} bytes is`;
  return new ApiError(413, `${size} larger than the limit of ${limit} bytes`, { code: 'request_too_large' });
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume(); // discard it unread; the 413 closes the connection (see sendError)
    return Promise.reject(tooLarge(limit, declared));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain the rest without keeping it, so the 413 can still be sent
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new ApiError(400, `request body could not be read: ${err.message}`, { code: 'invalid_body' }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const invalidJson = (message: string) => new ApiError(400, message, { code: 'invalid_json' });

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '') throw invalidJson('request body is empty; expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJson(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw invalidJson('request body must be a JSON object');
  return value;
}

/** readBody then parseJsonObject. */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(req, limit));
}
