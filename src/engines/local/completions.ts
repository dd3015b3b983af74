// The two generation routes, /v1/chat/completions and /v1/completions: OpenAI response objects,
// streamed (SSE, with the usage chunk when stream_options.include_usage) or whole.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelRegistry } from './registry.ts';
import type { LocalEngineMetrics } from './metrics.ts';
import type { GenerateResult } from './engine.ts';
import type { Token } from 'node-llama-cpp';
import { parseGenerationRequest } from './openai-params.ts';
import { readJsonObject } from '../../http/body.ts';
import { sendJson } from '../../http/respond.ts';
import { endSse, startSse, writeSse } from '../../http/sse.ts';

export interface CompletionDeps {
  registry: ModelRegistry;
  metrics: LocalEngineMetrics;
  maxBodyBytes: number;
}

function usageOf(r: GenerateResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
    prompt_tokens_details: { cached_tokens: r.cachedTokens },
  };
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

    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choice: Record<string, unknown>) => ({ id, object, created, model: params.model, choices: [{ index: 0, logprobs: null, ...choice }] });
    const delta = (text: string) => (kind === 'chat' ? { delta: { content: text }, finish_reason: null } : { text, finish_reason: null });

    if (params.stream) {
      startSse(res);
      if (kind === 'chat') writeSse(res, chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }));
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
      onText: params.stream ? (text) => writeSse(res, chunk(delta(text))) : undefined,
    });
    deps.metrics.observeRequest(params.model, result);
    if (result.finishReason === 'abort') return; // nobody is listening
    if (params.stream) {
      writeSse(res, chunk(kind === 'chat' ? { delta: {}, finish_reason: result.finishReason } : { text: '', finish_reason: result.finishReason }));
      if (params.includeUsage) writeSse(res, { id, object, created, model: params.model, choices: [], usage: usageOf(result) });
      endSse(res);
      return;
    }
    const choice =
      kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: result.text }, logprobs: null, finish_reason: result.finishReason }
        : { index: 0, text: result.text, logprobs: null, finish_reason: result.finishReason };
    sendJson(res, 200, {
      id,
      object: kind === 'chat' ? 'chat.completion' : 'text_completion',
      created,
      model: params.model,
      choices: [choice],
      usage: usageOf(result),
    });
  } finally {
    lease.release();
  }
}
