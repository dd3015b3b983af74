// Where `models pull` reads bytes from: a local directory or an http(s) base URL. Both can start
// reading at an offset, which is what makes a pull resumable.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { TrustError } from './errors.ts';

export interface SourceRead {
  body: AsyncIterable<Uint8Array>;
  offset: number; // where the body really starts: 0 when an HTTP server ignored the Range request
}

export interface ByteSource {
  describe(rel: string): string;
  read(rel: string, offset: number): Promise<SourceRead>;
}

export function openSource(base: string): ByteSource {
  return /^https?:\/\//i.test(base) ? httpSource(base) : directorySource(base);
}

function directorySource(dir: string): ByteSource {
  const pathOf = (rel: string) => join(dir, ...rel.split('/'));
  return {
    describe: pathOf,
    async read(rel, offset) {
      const path = pathOf(rel);
      try {
        const info = await stat(path);
        if (!info.isFile()) throw new TrustError('source', `${path} is not a regular file`);
      } catch (err) {
        if (err instanceof TrustError) throw err;
        throw new TrustError('source', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return { body: createReadStream(path, { start: offset, highWaterMark: 4 * 1024 * 1024 }), offset };
    },
  };
}

function httpSource(base: string): ByteSource {
  const urlOf = (rel: string) => new URL(rel.split('/').map(encodeURIComponent).join('/'), base.endsWith('/') ? base : `${base}/`).href;
  return {
    describe: urlOf,
    async read(rel, offset) {
      const url = urlOf(rel);
      let res;
      try {
        res = await request(url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {} });
      } catch (err) {
        throw new TrustError('source', `cannot fetch ${url}: ${(err as Error).message}`);
      }
      if (res.statusCode === 206 && offset > 0) {
        const start = Number(/^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1]);
        if (start !== offset) {
          await res.body.dump();
          throw new TrustError('source', `${url}: server answered a range starting at ${start}, asked for ${offset}`);
        }
        return { body: res.body, offset };
      }
      if (res.statusCode === 200) return { body: res.body, offset: 0 };
      await res.body.dump();
      throw new TrustError('source', `cannot fetch ${url}: HTTP ${res.statusCode}`);
    },
  };
}
