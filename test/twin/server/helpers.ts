// Shared by the twin server tests: a small instant-timing twin and raw HTTP helpers.
import { request } from 'node:http';
import { startTwinServer, type TwinServer, type TwinServerOptions } from '../../../src/twin/server/index.ts';

export const MODEL = 'llama-3.1-8b';

export function startTestTwin(extra: Partial<TwinServerOptions> = {}): Promise<TwinServer> {
  const logs: string[] = [];
  return startTwinServer({ model: MODEL, gpu: 'h100', timing: 'instant', numGpuBlocks: 2048, log: (m) => logs.push(m), ...extra });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** A plain HTTP request with full control over the body bytes (invalid JSON, oversize bodies...). */
export function raw(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const post = (url: string, path: string, body: unknown) => raw(url, 'POST', path, JSON.stringify(body));

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
