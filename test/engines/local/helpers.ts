// Shared by the local-engine tests: generated tiny models in a temp dir and small HTTP helpers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyLlama, type TinyModelOptions } from '../../../src/engines/local/tiny-model.ts';

export async function tempModels(specs: Record<string, TinyModelOptions>): Promise<{ paths: Record<string, string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'inferstack-local-'));
  const paths: Record<string, string> = {};
  for (const [name, opts] of Object.entries(specs)) {
    paths[name] = join(dir, `${name}.gguf`);
    await writeTinyLlama(paths[name], opts);
  }
  return { paths, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

/** Parses an SSE body into its data payloads (JSON objects, and the final '[DONE]'). */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6))
    .map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

/** Waits until `check` is true (polling), failing after `ms`. For state changes driven by timers. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Value of one Prometheus sample, e.g. metric('vllm:num_requests_running{model_name="a"}'). */
export async function metric(baseUrl: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
