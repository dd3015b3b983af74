// Response bodies and SSE chunks shaped like vLLM's OpenAI server, for completions and chat.
import type { ChoiceOutcome } from './choice.ts';
import type { KvTransferParams } from './validate.ts';

/** Every body says it came from a simulated engine. */
export const SYSTEM_FINGERPRINT = 'inferstack-twin-simulated';

export interface ResponseMeta {
  kind: 'completion' | 'chat';
  id: string;
  created: number;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(promptTokens: number, cachedTokens: number, outcomes: ChoiceOutcome[]): Usage {
  const completion = outcomes.reduce((sum, o) => sum + o.completionTokens, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

function envelope(meta: ResponseMeta, streaming: boolean) {
  const object = meta.kind === 'chat' ? (streaming ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
  return { id: meta.id, object, created: meta.created, model: meta.model, system_fingerprint: SYSTEM_FINGERPRINT };
}

/** A streamed piece of text for one choice; `first` adds the assistant role (chat). */
export function deltaChunk(meta: ResponseMeta, index: number, text: string, first: boolean): unknown {
  const choice = meta.kind === 'chat'
    ? { index, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: null }
    : { index, text, logprobs: null, finish_reason: null, stop_reason: null };
  return { ...envelope(meta, true), choices: [choice] };
}

export function finishChunk(meta: ResponseMeta, o: ChoiceOutcome): unknown {
  const choice = meta.kind === 'chat'
    ? { index: o.index, delta: {}, logprobs: null, finish_reason: o.finishReason, stop_reason: o.stopReason }
    : { index: o.index, text: '', logprobs: null, finish_reason: o.finishReason, stop_reason: o.stopReason };
  return { ...envelope(meta, true), choices: [choice] };
}

/** stream_options.include_usage: the last chunk carries usage and no choices. */
export function usageChunk(meta: ResponseMeta, usage: Usage): unknown {
  return { ...envelope(meta, true), choices: [], usage };
}

export function fullResponse(meta: ResponseMeta, outcomes: ChoiceOutcome[], usage: Usage, kvTransferParams: KvTransferParams | null): unknown {
  const choices = outcomes.map((o) => meta.kind === 'chat'
    ? { index: o.index, message: { role: 'assistant', content: o.text, tool_calls: [] }, logprobs: null, finish_reason: o.finishReason, stop_reason: o.stopReason }
    : { index: o.index, text: o.text, logprobs: null, finish_reason: o.finishReason, stop_reason: o.stopReason, prompt_logprobs: null });
  return { ...envelope(meta, false), choices, usage, kv_transfer_params: kvTransferParams };
}
