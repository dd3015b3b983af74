// The tokenizer seam: the twin server tokenizes prompts with it and the router tokenizes the same
// messages with it for precise prefix routing, so the same messages must render and encode the same.

/** An OpenAI chat message; content parts other than text are ignored by the renderers. */
export interface ChatMessage {
  role: string;
  content?: string | null | Array<{ type: string; text?: string }>;
  name?: string;
  [extra: string]: unknown;
}

export interface RenderChatOptions {
  /** Append the assistant turn's opening so the model answers next. */
  addGenerationPrompt: boolean;
  /** Extra variables for a Jinja chat template (tools, documents, ...). */
  templateContext?: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Add the tokenizer's special tokens (BOS ...). Default true, as for vLLM's completions API; pass false for a rendered chat prompt. */
  addSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** 'builtin': the approximate tokenizer; 'huggingface': a tokenizer.json. */
  readonly kind: 'builtin' | 'huggingface';
  readonly vocabSize: number;
  /** Ordinary word tokens for deterministic filler output (pass to the twin core's fillerTokenIds). */
  readonly fillerTokenIds: readonly number[];
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[]): string;
  renderChat(messages: readonly ChatMessage[], opts: RenderChatOptions): string;
}
