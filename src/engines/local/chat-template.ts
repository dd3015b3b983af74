// The GGUF's own chat template (`tokenizer.chat_template`, Jinja) rendered with @huggingface/jinja,
// the way llama.cpp's and Hugging Face's servers do: messages + add_generation_prompt + the model's
// BOS/EOS strings. A template that does not parse makes chat requests fail with a 400 saying so;
// the model still serves /v1/completions.
import { Template } from '@huggingface/jinja';
import { badRequest } from '../../http/api-error.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

export class ChatTemplate {
  private readonly template: Template | undefined;
  private readonly problem: string | undefined;
  private readonly bos: string;
  private readonly eos: string;

  constructor(source: unknown, bos: string | null, eos: string | null) {
    this.bos = bos ?? '';
    this.eos = eos ?? '';
    if (typeof source !== 'string' || source === '') {
      this.problem = 'this model has no chat template (tokenizer.chat_template); use /v1/completions';
      return;
    }
    try {
      this.template = new Template(source);
    } catch (err) {
      this.problem = `this model's chat template does not parse (${(err as Error).message}); use /v1/completions`;
    }
  }

  render(messages: ChatMessage[]): string {
    if (!this.template) throw badRequest(this.problem!);
    try {
      return this.template.render({ messages, add_generation_prompt: true, bos_token: this.bos, eos_token: this.eos });
    } catch (err) {
      throw badRequest(`the model's chat template failed on these messages: ${(err as Error).message}`, 'messages');
    }
  }
}
