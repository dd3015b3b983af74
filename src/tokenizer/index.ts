// createTokenizer: a model's tokenizer.json (+ chat template) when given, the built-in approximate tokenizer otherwise.
import { createBuiltinTokenizer } from './builtin.ts';
import { createHuggingFaceTokenizer } from './huggingface.ts';
import type { Tokenizer } from './types.ts';

export type { ChatMessage, EncodeOptions, RenderChatOptions, Tokenizer } from './types.ts';
import { compileChatTemplate } from './chat.ts';
export { messageText } from './chat.ts';

export interface CreateTokenizerOptions {
  /** Path to a Hugging Face tokenizer.json; without it the built-in approximate tokenizer is used. */
  tokenizerJsonPath?: string;
  /** Path to tokenizer_config.json (default: next to tokenizer.json when present). */
  tokenizerConfigPath?: string;
  /** A Jinja chat template string (overrides the config's chat_template; also usable with the built-in tokenizer). */
  chatTemplate?: string;
}

export function createTokenizer(opts: CreateTokenizerOptions = {}): Tokenizer {
  if (opts.tokenizerJsonPath) {
    return createHuggingFaceTokenizer({
      tokenizerJsonPath: opts.tokenizerJsonPath,
      tokenizerConfigPath: opts.tokenizerConfigPath,
      chatTemplate: opts.chatTemplate,
    });
  }
  const builtin = createBuiltinTokenizer();
  if (opts.chatTemplate === undefined) return builtin;
  const render = compileChatTemplate(opts.chatTemplate);
  return { ...builtin, renderChat: (messages, o) => render(messages, o) };
}
