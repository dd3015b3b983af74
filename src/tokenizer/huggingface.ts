// A model's own tokenizer.json (via @huggingface/tokenizers) and chat template (via @huggingface/jinja).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { compileChatTemplate, renderChatML } from './chat.ts';
import type { ChatMessage, EncodeOptions, RenderChatOptions, Tokenizer } from './types.ts';

export interface HuggingFaceTokenizerOptions {
  tokenizerJsonPath: string;
  /** tokenizer_config.json (special tokens, chat_template); default: next to tokenizer.json, if present. */
  tokenizerConfigPath?: string;
  /** A Jinja chat template; overrides the config's. Without either, the built-in ChatML rendering is used. */
  chatTemplate?: string;
}

const FILLER_WORDS = [' the', ' of', ' and', ' to', ' in', ' is', ' it', ' for', ' on', ' as', ' was', ' be', ' at', ' one', ' can', ' all'];

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what} ${path} is not valid: ${(err as Error).message}`);
  }
}

/** A special token in tokenizer_config.json is a string or an AddedToken object with `content`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** chat_template is a string or a list of named templates; take 'default' (or the first). */
function templateFromConfig(config: Record<string, unknown>): string | undefined {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as Array<{ name?: string; template?: string }>;
    return (named.find((x) => x?.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

export function createHuggingFaceTokenizer(opts: HuggingFaceTokenizerOptions): Tokenizer {
  const json = readJson(opts.tokenizerJsonPath, 'tokenizer.json');
  const configPath = opts.tokenizerConfigPath ?? join(dirname(opts.tokenizerJsonPath), 'tokenizer_config.json');
  const config = opts.tokenizerConfigPath || existsSync(configPath) ? readJson(configPath, 'tokenizer_config.json') : {};
  let tok: HfTokenizer;
  try {
    // The library reads a WordLevel model's unknown-word token from the config, not from the model
    // as Hugging Face's own tokenizers do: without this, unknown words encode to no id at all.
    const unk = (json.model as { unk_token?: unknown } | undefined)?.unk_token;
    tok = new HfTokenizer(json, config.unk_token === undefined && typeof unk === 'string' ? { ...config, unk_token: unk } : config);
  } catch (err) {
    throw new Error(`tokenizer.json ${opts.tokenizerJsonPath} could not be loaded: ${(err as Error).message}`);
  }

  const specialTokens: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const text = tokenText(config[key]);
    if (text !== undefined) specialTokens[key] = text;
  }

  const source = opts.chatTemplate ?? templateFromConfig(config);
  const render = source === undefined ? renderChatML : compileChatTemplate(source, specialTokens);

  let vocabSize = 0;
  for (const id of tok.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);

  const encode = (text: string, o?: EncodeOptions): number[] => {
    const ids = tok.encode(text, { add_special_tokens: o?.addSpecialTokens ?? true }).ids;
    if (!ids.every((id: unknown) => Number.isInteger(id))) throw new Error(`tokenizer.json ${opts.tokenizerJsonPath} has no token for part of the text (and no unk_token)`);
    return ids;
  };
  // Filler ids: short words that are one token each in this vocabulary; else the first ordinary ids.
  const special = new Set(tok.get_added_tokens_decoder().keys());
  const filler = new Set<number>();
  for (const w of FILLER_WORDS) {
    const ids = tok.encode(w, { add_special_tokens: false }).ids; // a word with no id is simply not filler
    if (ids.length === 1 && Number.isInteger(ids[0]) && !special.has(ids[0]!)) filler.add(ids[0]!);
  }
  for (let id = 0; filler.size < 8 && id < vocabSize; id++) if (!special.has(id) && tok.id_to_token(id) !== undefined) filler.add(id);
  if (filler.size === 0) throw new Error(`tokenizer.json ${opts.tokenizerJsonPath} has no ordinary tokens`);

  return {
    kind: 'huggingface',
    vocabSize,
    fillerTokenIds: [...filler],
    encode,
    decode: (ids: readonly number[]) => tok.decode([...ids], { skip_special_tokens: true }),
    renderChat: (messages: readonly ChatMessage[], o: RenderChatOptions) => render(messages, o),
  };
}
