// What to generate from: `model`, and chat `messages` or a completion `prompt`, checked as vLLM
// checks them (400s naming the field). Text content only: these engines take no images or audio.
import { badRequest } from './api-error.ts';
import { isInt, isObject, type JsonObject } from './fields.ts';

export const MAX_MESSAGES = 4096;

/** A chat message with its text parts joined. */
export interface TextMessage {
  role: string;
  content: string;
  [extra: string]: unknown;
}

export function parseModel(body: JsonObject): string {
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw badRequest("'model' is required and must be a non-empty string", 'model');
  return model;
}

function messageContent(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part, j) => {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
      throw badRequest(`messages[${i}].content[${j}] must be a text part ({"type": "text", "text": ...}); this engine takes text only`, `messages[${i}].content`);
    }).join('');
  }
  throw badRequest(`messages[${i}].content must be a string or a list of text parts`, `messages[${i}].content`);
}

export function parseMessages(body: JsonObject): TextMessage[] {
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_MESSAGES) {
    throw badRequest(`'messages' must be a non-empty list of at most ${MAX_MESSAGES} messages`, 'messages');
  }
  return raw.map((m, i): TextMessage => {
    if (!isObject(m) || typeof m.role !== 'string' || m.role === '') throw badRequest(`messages[${i}] must be an object with a non-empty string 'role'`, `messages[${i}].role`);
    return { role: m.role, content: messageContent(m.content, i) };
  });
}

const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => isInt(t) && t >= 0);

/** `prompt`: a string, a list of token ids, or a non-empty list of those (a batch of at most maxPrompts). */
export function parsePrompts(body: JsonObject, maxPrompts: number): Array<string | number[]> {
  const prompt = body.prompt;
  let prompts: Array<string | number[]>;
  if (typeof prompt === 'string' || isTokenIds(prompt)) prompts = [prompt];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string' || isTokenIds(p))) prompts = prompt as Array<string | number[]>;
  else throw badRequest("'prompt' must be a string, a list of token ids, or a non-empty list of those", 'prompt');
  if (prompts.length > maxPrompts) {
    throw badRequest(maxPrompts === 1 ? "'prompt': one prompt per request (send batches as separate requests)" : `at most ${maxPrompts} prompts per request on this server, got ${prompts.length}`, 'prompt');
  }
  return prompts;
}
