// API keys: `Authorization: Bearer <key>`. With no keys configured the gateway is open (it binds
// to 127.0.0.1 by default). Keys are compared by hash-set lookup of their SHA-256, so the lookup
// time does not depend on how much of a key matches.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError as GatewayError } from '../http/api-error.ts';

const digest = (key: string) => createHash('sha256').update(key).digest('base64');

export class ApiKeys {
  private readonly hashes: Set<string>;
  constructor(keys: string[]) {
    this.hashes = new Set(keys.map(digest));
  }

  get enabled(): boolean {
    return this.hashes.size > 0;
  }

  /** Throws a 401 GatewayError unless the request carries a configured key. */
  check(req: IncomingMessage): void {
    if (!this.enabled) return;
    const header = req.headers.authorization;
    const key = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!key) throw new GatewayError(401, 'missing API key: send Authorization: Bearer <key>', { code: 'invalid_api_key' });
    if (!this.hashes.has(digest(key))) throw new GatewayError(401, 'invalid API key', { code: 'invalid_api_key' });
  }
}
