// Request ids: accept the client's `x-request-id` when it is sane, otherwise make one. The id goes
// upstream (vLLM uses it as its own request id) and back to the client.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE_ID = /^[\w.:@+=/-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}
