// A tiny word-level tokenizer.json (and tokenizer_config.json beside it), written by a test: no
// model hub. Its ids differ from the built-in tokenizer's, which is what the tests that use it need.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_WORDS = ['<s>', '</s>', '<unk>', 'hello', 'world', 'the', 'of', 'and', 'user', 'assistant', 'system', ':', 'hi', 'be', 'brief'];

/** Writes `dir/tokenizer.json` (vocabulary: TINY_WORDS, then `extraWords`) and its config; returns the tokenizer.json path. */
export function writeTinyTokenizer(dir: string, opts: { extraWords?: readonly string[]; chatTemplate?: string } = {}): string {
  const words = [...TINY_WORDS, ...(opts.extraWords ?? [])];
  const vocab = Object.fromEntries(words.map((w, i) => [w, i]));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '</s>'), special(2, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, JSON.stringify(json));
  const config = { bos_token: '<s>', eos_token: { content: '</s>' }, ...(opts.chatTemplate !== undefined ? { chat_template: opts.chatTemplate } : {}) };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return path;
}
