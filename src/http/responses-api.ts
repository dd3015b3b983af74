// The Responses API (/v1/responses) as vLLM serves it: a response object with one assistant message
// of output text, or, streamed, the named events OpenAI's clients read (created, the item and its
// text part opened, text deltas, each closed again, completed with usage). Text only: no tools or
// reasoning items.
import { badRequest } from './api-error.ts';
import { isObject, isString, optional } from './fields.ts';

export interface ResponsesMeta {
  id: string;
  created: number;
  model: string;
}

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responsesUsage(inputTokens: number, outputTokens: number, cachedTokens: number): ResponsesUsage {
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cachedTokens },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}

/** A response cut at the token limit is `incomplete` (reason max_output_tokens); any other end completes it. */
export function responseStatus(finishReason: string): 'completed' | 'incomplete' {
  return finishReason === 'length' ? 'incomplete' : 'completed';
}

const messageId = (meta: ResponsesMeta) => `msg_${meta.id.slice(5)}`;
const textPart = (text: string) => ({ type: 'output_text', text, annotations: [] });
const message = (meta: ResponsesMeta, status: string, text: string | undefined) => ({
  type: 'message', id: messageId(meta), status, role: 'assistant', content: text === undefined ? [] : [textPart(text)],
});

/** The response object: `text` undefined while nothing is out yet; `incomplete` when cut at max_output_tokens. */
export function responseObject(meta: ResponsesMeta, status: 'in_progress' | 'completed' | 'incomplete', text: string | undefined, usage: ResponsesUsage | null): unknown {
  return {
    id: meta.id, object: 'response', created_at: meta.created, status, model: meta.model,
    output: text === undefined ? [] : [message(meta, status === 'in_progress' ? 'in_progress' : 'completed', text)],
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    parallel_tool_calls: true, tool_choice: 'auto', tools: [], usage,
  };
}

/**
 * A Responses API body's prompt as chat messages: `instructions` as the system message, then `input`
 * (a string, or items: messages keep their role, and their `input_text` / `output_text` parts are
 * text). Other items (function calls and their outputs): a 400 naming them, or with
 * `otherItems: 'as-json'` a user message of their JSON, enough to route on.
 */
export function responsesMessages(body: Record<string, unknown>, o: { otherItems: 'reject' | 'as-json' }): Array<{ role: string; content: unknown }> {
  const input = body.input;
  let items: unknown[];
  if (typeof input === 'string') items = [{ role: 'user', content: input }];
  else if (Array.isArray(input) && input.length > 0) items = input;
  else throw badRequest("'input' must be a string or a non-empty list of items", 'input');
  const messages = items.map((item, i) => {
    if (!isObject(item)) throw badRequest(`'input[${i}]' must be an object`, `input[${i}]`);
    if (typeof item.role !== 'string') {
      if (o.otherItems === 'as-json') return { role: 'user', content: JSON.stringify(item) };
      throw badRequest(`input[${i}] must be a message item with a string 'role' (this engine takes no other items)`, `input[${i}]`);
    }
    const content = Array.isArray(item.content)
      ? item.content.map((p) => (isObject(p) && (p.type === 'input_text' || p.type === 'output_text') ? { type: 'text', text: p.text } : p))
      : item.content;
    return { role: item.role, content };
  });
  const instructions = optional(body, 'instructions', isString, 'a string');
  return instructions === undefined ? messages : [{ role: 'system', content: instructions }, ...messages];
}

/** A Responses API body as the chat body it is: its messages, one answer of at most `max_output_tokens`. */
export function responsesAsChatBody(body: Record<string, unknown>): Record<string, unknown> {
  return { ...body, messages: responsesMessages(body, { otherItems: 'reject' }), n: undefined, max_tokens: body.max_output_tokens };
}

/** One streamed response's events as SSE frames, numbered as they go out; the caller writes them. */
export class ResponsesFrames {
  private seq = 0;
  private readonly meta: ResponsesMeta;

  constructor(meta: ResponsesMeta) {
    this.meta = meta;
  }

  private event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...data })}\n\n`;
  }

  /** The response, its message and its text part open (written with the first token). */
  open(): string {
    const response = responseObject(this.meta, 'in_progress', undefined, null);
    return (
      this.event('response.created', { response }) +
      this.event('response.in_progress', { response }) +
      this.event('response.output_item.added', { output_index: 0, item: message(this.meta, 'in_progress', undefined) }) +
      this.event('response.content_part.added', { item_id: messageId(this.meta), output_index: 0, content_index: 0, part: textPart('') })
    );
  }

  delta(text: string): string {
    return this.event('response.output_text.delta', { item_id: messageId(this.meta), output_index: 0, content_index: 0, delta: text });
  }

  /** The text part and the message closed, then the response with its usage: the stream's last frames. */
  finish(text: string, status: 'completed' | 'incomplete', usage: ResponsesUsage): string {
    const at = { item_id: messageId(this.meta), output_index: 0, content_index: 0 };
    return (
      this.event('response.output_text.done', { ...at, text }) +
      this.event('response.content_part.done', { ...at, part: textPart(text) }) +
      this.event('response.output_item.done', { output_index: 0, item: message(this.meta, 'completed', text) }) +
      this.event(`response.${status}`, { response: responseObject(this.meta, status, text, usage) })
    );
  }
}
