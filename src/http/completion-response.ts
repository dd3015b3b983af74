// Response bodies and SSE chunks of /v1/completions and /v1/chat/completions, shaped as vLLM's
// OpenAI server writes them (OpenAI's fields plus vLLM's `stop_reason`).

export interface ResponseMeta {
  kind: 'completion' | 'chat';
  id: string;
  created: number;
  model: string;
  /** The twin's says the engine is simulated; omitted when undefined. */
  systemFingerprint?: string;
}

/** One finished choice. */
export interface ChoiceResult {
  index: number;
  text: string;
  finishReason: string;
  /** The stop string that ended the choice (vLLM's `stop_reason`), else null. */
  stopReason: string | null;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

function envelope(meta: ResponseMeta, streaming: boolean) {
  const object = meta.kind === 'chat' ? (streaming ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
  const head = { id: meta.id, object, created: meta.created, model: meta.model };
  return meta.systemFingerprint === undefined ? head : { ...head, system_fingerprint: meta.systemFingerprint };
}

/** A streamed piece of text for one choice; `first` adds the assistant role (chat). */
export function deltaChunk(meta: ResponseMeta, index: number, text: string, first: boolean): unknown {
  const choice = meta.kind === 'chat'
    ? { index, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: null }
    : { index, text, logprobs: null, finish_reason: null, stop_reason: null };
  return { ...envelope(meta, true), choices: [choice] };
}

export function finishChunk(meta: ResponseMeta, c: ChoiceResult): unknown {
  const choice = meta.kind === 'chat'
    ? { index: c.index, delta: {}, logprobs: null, finish_reason: c.finishReason, stop_reason: c.stopReason }
    : { index: c.index, text: '', logprobs: null, finish_reason: c.finishReason, stop_reason: c.stopReason };
  return { ...envelope(meta, true), choices: [choice] };
}

/** stream_options.include_usage: the last chunk carries usage and no choices. */
export function usageChunk(meta: ResponseMeta, usage: Usage): unknown {
  return { ...envelope(meta, true), choices: [], usage };
}

/** The whole (non-streamed) body; `extra` adds top-level fields (the twin's kv_transfer_params). */
export function fullResponse(meta: ResponseMeta, choices: ChoiceResult[], usage: Usage, extra: Record<string, unknown> = {}): unknown {
  const shaped = choices.map((c) => meta.kind === 'chat'
    ? { index: c.index, message: { role: 'assistant', content: c.text, tool_calls: [] }, logprobs: null, finish_reason: c.finishReason, stop_reason: c.stopReason }
    : { index: c.index, text: c.text, logprobs: null, finish_reason: c.finishReason, stop_reason: c.stopReason, prompt_logprobs: null });
  return { ...envelope(meta, false), choices: shaped, usage, ...extra };
}
