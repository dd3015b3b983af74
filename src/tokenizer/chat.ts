// Chat rendering: a Jinja chat template when one is given, the built-in ChatML rendering otherwise.
import { Template } from '@huggingface/jinja';
import type { ChatMessage, RenderChatOptions } from './types.ts';

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';

/**
 * A message's text: a string, or the text parts of a content array joined with newlines (as vLLM
 * does for templates that expect string content); null is empty. Other parts (images) are dropped.
 */
export function messageText(message: ChatMessage): string {
  const c = message.content;
  if (c == null) return '';
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) throw new TypeError(`message content must be a string or an array of parts`);
  const texts: string[] = [];
  for (const part of c) if (part && part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
  return texts.join('\n');
}

export function renderChatML(messages: readonly ChatMessage[], opts: RenderChatOptions): string {
  let out = '';
  for (const m of messages) {
    if (typeof m?.role !== 'string') throw new TypeError('each message needs a string role');
    out += `${IM_START}${m.role}\n${messageText(m)}${IM_END}\n`;
  }
  if (opts.addGenerationPrompt) out += `${IM_START}assistant\n`;
  return out;
}

/** Compiles a Jinja chat template (Hugging Face's tokenizer_config.json chat_template dialect). */
export function compileChatTemplate(
  source: string,
  specialTokens: Record<string, string> = {},
): (messages: readonly ChatMessage[], opts: RenderChatOptions) => string {
  let template: Template;
  try {
    template = new Template(source);
  } catch (err) {
    throw new Error(`chat template does not parse: ${(err as Error).message}`);
  }
  // Templates index message['content'] as a string: flatten content arrays first (null stays null, for tool calls).
  const flatten = (m: ChatMessage): ChatMessage => (Array.isArray(m.content) ? { ...m, content: messageText(m) } : m);
  return (messages, opts) =>
    template.render({ ...specialTokens, ...opts.templateContext, messages: messages.map(flatten), add_generation_prompt: opts.addGenerationPrompt });
}
