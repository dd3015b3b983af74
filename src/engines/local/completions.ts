// The two generation routes, /v1/chat/completions and /v1/completions: OpenAI response objects,
// streamed (SSE, with the usage chunk when stream_options.include_usage) or whole.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelRegistry } from './registry.ts';
import type { LocalEngineMetrics } from './metrics.ts';
import type { Token } from 'node-llama-cpp';
import { parseGenerationRequest } from './openai-params.ts';
import { readJsonObject } from '../../http/body.ts';
import { sendJson } from '../../http/respond.ts';
import { endSse, startSse, writeSse } from '../../http/sse.ts';
import { deltaChunk, finishChunk, fullResponse, usageChunk, usageOf, type ResponseMeta } from '../../http/completion-response.ts';

export interface CompletionDeps {
  registry: ModelRegistry;
  metrics: LocalEngineMetrics;
  maxBodyBytes: number;
}

export async function handleGeneration(kind: 'chat' | 'completion', req: IncomingMessage, res: ServerResponse, deps: CompletionDeps): Promise<void> {
  const params = parseGenerationRequest(kind, await readJsonObject(req, deps.maxBodyBytes));
  // A client that goes away cancels its request: the sequence is freed at the next token.
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const lease = await deps.registry.acquire(params.model);
  try {
    if (abort.signal.aborted) return;
    const engine = lease.engine;
    const promptTokens =
      kind === 'chat' ? engine.tokenizeChat(params.messages)
      : typeof params.prompt === 'string' ? engine.tokenizeText(params.prompt)
      : (params.prompt as Token[]); // ids are range-checked by checkRequest
    engine.checkRequest(promptTokens, params.maxTokens); // a 400 before any stream starts

    const meta: ResponseMeta = { kind, id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: params.model };
    if (params.stream) {
      startSse(res);
      if (kind === 'chat') writeSse(res, deltaChunk(meta, 0, '', true));
    }
    const result = await engine.generate({
      promptTokens,
      maxTokens: params.maxTokens,
      stop: params.stop,
      temperature: params.temperature,
      topP: params.topP,
      seed: params.seed,
      ignoreEos: params.ignoreEos,
      signal: abort.signal,
      onText: params.stream ? (text) => writeSse(res, deltaChunk(meta, 0, text, false)) : undefined,
    });
    deps.metrics.observeRequest(params.model, result);
    if (result.finishReason === 'abort') return; // nobody is listening
    const choice = { index: 0, text: result.text, finishReason: result.finishReason, stopReason: null };
    const usage = usageOf(result.promptTokens, result.completionTokens, result.cachedTokens);
    if (params.stream) {
      writeSse(res, finishChunk(meta, choice));
      if (params.includeUsage) writeSse(res, usageChunk(meta, usage));
      endSse(res);
      return;
    }
    sendJson(res, 200, fullResponse(meta, [choice], usage));
  } finally {
    lease.release();
  }
}
