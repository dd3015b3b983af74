// The generation routes, /v1/chat/completions, /v1/completions and /v1/responses: OpenAI response
// objects, streamed (SSE, with the usage chunk when stream_options.include_usage; the Responses API's
// named events) or whole. A Responses API request runs as the chat it renders to.
import { randomUUID } from 'node:crypto';
import type { ModelRegistry } from './registry.ts';
import type { LocalEngineMetrics } from './metrics.ts';
import type { Token } from 'node-llama-cpp';
import { parseGenerationRequest } from './openai-params.ts';
import { deltaChunk, finishChunk, fullResponse, usageChunk, usageOf, type ResponseMeta } from '../../http/completion-response.ts';
import { responseObject, responseStatus, responsesAsChatBody, responsesUsage, ResponsesFrames } from '../../http/responses-api.ts';
import type { BodyReader } from './app.ts';
import type { Responder } from './responder.ts';

export interface CompletionDeps {
  registry: ModelRegistry;
  metrics: LocalEngineMetrics;
}

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

export async function handleGeneration(api: 'chat' | 'completion' | 'responses', body: BodyReader, r: Responder, deps: CompletionDeps): Promise<void> {
  const kind = api === 'completion' ? 'completion' : 'chat';
  const raw = await body();
  const params = parseGenerationRequest(kind, api === 'responses' ? responsesAsChatBody(raw) : raw);
  const lease = await deps.registry.acquire(params.model);
  try {
    if (r.signal.aborted) return r.drop();
    const engine = lease.engine;
    const promptTokens =
      kind === 'chat' ? engine.tokenizeChat(params.messages)
      : typeof params.prompt === 'string' ? engine.tokenizeText(params.prompt)
      : (params.prompt as Token[]); // ids are range-checked by checkRequest
    engine.checkRequest(promptTokens, params.maxTokens); // a 400 before any stream starts

    const meta: ResponseMeta = { kind, id: `${api === 'responses' ? 'resp_' : kind === 'chat' ? 'chatcmpl-' : 'cmpl-'}${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: params.model };
    const responses = api === 'responses' ? new ResponsesFrames(meta) : undefined;
    let onText: ((text: string) => Promise<void> | undefined) | undefined;
    if (params.stream) {
      r.startSse();
      if (responses) r.writeSse(responses.open());
      else if (kind === 'chat') r.writeSse(frame(deltaChunk(meta, 0, '', true)));
      const delta = responses ? (text: string) => responses.delta(text) : deltaFrames(meta);
      // A paused reader holds the generation loop (bounded) instead of queueing tokens.
      onText = (text) => (r.writeSse(delta(text)) ? undefined : r.drained());
    }
    const result = await engine.generate({
      promptTokens,
      maxTokens: params.maxTokens,
      stop: params.stop,
      temperature: params.temperature,
      topP: params.topP,
      seed: params.seed,
      ignoreEos: params.ignoreEos,
      signal: r.signal,
      onText,
    });
    deps.metrics.observeRequest(params.model, result);
    if (result.finishReason === 'abort') return r.drop(); // nobody is listening
    const choice = { index: 0, text: result.text, finishReason: result.finishReason, stopReason: null };
    const usage = usageOf(result.promptTokens, result.completionTokens, result.cachedTokens);
    if (responses) {
      const status = responseStatus(result.finishReason);
      const rUsage = responsesUsage(result.promptTokens, result.completionTokens, result.cachedTokens);
      if (!params.stream) return r.json(200, responseObject(meta, status, result.text, rUsage));
      r.writeSse(responses.finish(result.text, status, rUsage));
      return r.endSse();
    }
    if (params.stream) {
      r.writeSse(frame(finishChunk(meta, choice)));
      if (params.includeUsage) r.writeSse(frame(usageChunk(meta, usage)));
      r.endSse();
      return;
    }
    r.json(200, fullResponse(meta, [choice], usage));
  } finally {
    lease.release();
  }
}

/**
 * The per-token SSE frame as a template: everything but the text is the same for every token of a
 * request, so it is serialised once (from the shared deltaChunk, so the shape stays one definition)
 * and each token costs one JSON string escape and a concatenation.
 */
export function deltaFrames(meta: ResponseMeta): (text: string) => string {
  const marker = '\u0000inferstack-delta\u0000';
  const whole = frame(deltaChunk(meta, 0, marker, false));
  const quoted = JSON.stringify(marker);
  const at = whole.indexOf(quoted);
  if (at < 0 || whole.indexOf(quoted, at + 1) >= 0) return (text) => frame(deltaChunk(meta, 0, text, false)); // a model name holding the marker
  const head = whole.slice(0, at);
  const tail = whole.slice(at + quoted.length);
  return (text) => head + JSON.stringify(text) + tail;
}
