// Request bodies of /v1/chat/completions and /v1/completions -> checked, typed parameters. Wrong
// types get a 400 naming the parameter; unknown fields are ignored, as vLLM does.
import { badRequest } from './errors.ts';
import type { ChatMessage } from './chat-template.ts';

export interface GenerationParams {
  kind: 'chat' | 'completion';
  model: string;
  messages: ChatMessage[];
  /** completions: text, or token ids */
  prompt: string | number[];
  maxTokens: number | undefined;
  stop: string[];
  temperature: number | undefined;
  topP: number | undefined;
  seed: number | undefined;
  ignoreEos: boolean;
  stream: boolean;
  includeUsage: boolean;
}

const MAX_MESSAGES = 4096;
const MAX_STOPS = 16;
const MAX_STOP_LENGTH = 512;

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

function optionalNumber(body: Body, key: string, min: number, max: number, minExclusive = false): number | undefined {
  const v = body[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v > max || (minExclusive ? v <= min : v < min)) {
    throw badRequest(`'${key}' must be a number ${minExclusive ? '>' : '>='} ${min} and <= ${max}`, key);
  }
  return v;
}

function optionalInt(body: Body, key: string, min: number): number | undefined {
  const v = body[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw badRequest(`'${key}' must be an integer >= ${min}`, key);
  return v;
}

function optionalBool(body: Body, key: string): boolean {
  const v = body[key];
  if (absent(v)) return false;
  if (typeof v !== 'boolean') throw badRequest(`'${key}' must be a boolean`, key);
  return v;
}

function parseStop(v: unknown): string[] {
  if (absent(v)) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > MAX_STOPS || !list.every((s) => typeof s === 'string' && s.length <= MAX_STOP_LENGTH)) {
    throw badRequest(`'stop' must be a string or an array of at most ${MAX_STOPS} strings of at most ${MAX_STOP_LENGTH} characters`, 'stop');
  }
  return list as string[];
}

function messageContent(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (absent(content)) return '';
  if (Array.isArray(content)) {
    let text = '';
    for (const part of content) {
      if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
        throw badRequest(`messages[${i}].content: only text parts are supported by this engine`, `messages[${i}].content`);
      }
      text += part.text;
    }
    return text;
  }
  throw badRequest(`messages[${i}].content must be a string or an array of text parts`, `messages[${i}].content`);
}

function parseMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MESSAGES) {
    throw badRequest(`'messages' must be a non-empty array of at most ${MAX_MESSAGES} messages`, 'messages');
  }
  return v.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string' || m.role === '') throw badRequest(`messages[${i}].role must be a non-empty string`, `messages[${i}].role`);
    return { role: m.role, content: messageContent(m.content, i) };
  });
}

function parsePrompt(v: unknown): string | number[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  if (Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'number' && Number.isInteger(t))) return v as number[];
  if (Array.isArray(v) && v.length > 1) throw badRequest("'prompt': one prompt per request (send batches as separate requests)", 'prompt');
  throw badRequest("'prompt' must be a string or an array of token ids", 'prompt');
}

export function parseGenerationRequest(kind: 'chat' | 'completion', body: unknown): GenerationParams {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw badRequest("'model' must be a non-empty string", 'model');
  const n = optionalInt(body, 'n', 1);
  if (n !== undefined && n !== 1) throw badRequest("'n' must be 1 on this engine", 'n');
  const streamOptions = body.stream_options;
  if (!absent(streamOptions) && !isObject(streamOptions)) throw badRequest("'stream_options' must be an object", 'stream_options');
  const seed = optionalInt(body, 'seed', Number.MIN_SAFE_INTEGER);
  return {
    kind,
    model: body.model,
    messages: kind === 'chat' ? parseMessages(body.messages) : [],
    prompt: kind === 'completion' ? parsePrompt(body.prompt) : '',
    maxTokens: optionalInt(body, 'max_completion_tokens', 1) ?? optionalInt(body, 'max_tokens', 1),
    stop: parseStop(body.stop),
    temperature: optionalNumber(body, 'temperature', 0, 2),
    topP: optionalNumber(body, 'top_p', 0, 1, true),
    // llama.cpp takes a 32-bit seed
    seed: seed === undefined ? undefined : Number(BigInt.asUintN(32, BigInt(seed))),
    ignoreEos: optionalBool(body, 'ignore_eos'),
    stream: optionalBool(body, 'stream'),
    includeUsage: isObject(streamOptions) ? optionalBool(streamOptions, 'include_usage') : false,
  };
}
