// Request bodies of /v1/completions and /v1/chat/completions -> checked, typed parameters.
// Wrong types are 400s naming the parameter, as vLLM's pydantic models do; unknown fields are ignored.
import type { ChatMessage } from '../../tokenizer/index.ts';
import { badRequest } from './errors.ts';

export interface KvTransferParams {
  do_remote_decode?: boolean;
  do_remote_prefill?: boolean;
  remote_engine_id?: string | null;
  remote_block_ids?: number[] | null;
  remote_request_id?: string | null;
  remote_host?: string | null;
  remote_port?: number | null;
  tp_size?: number;
}

export interface SamplingParams {
  /** Undefined: generate up to the context window. */
  maxTokens: number | undefined;
  stop: string[];
  ignoreEos: boolean;
  n: number;
  temperature: number | undefined;
  seed: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  cacheSalt: string | undefined;
  kvTransfer: KvTransferParams | undefined;
}

export type GenerationInput =
  | { kind: 'completion'; model: string; prompts: Array<string | number[]>; params: SamplingParams }
  | { kind: 'chat'; model: string; messages: ChatMessage[]; params: SamplingParams };

export interface ValidationLimits {
  maxN: number;
  maxPrompts: number;
}

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optional<T>(body: Body, key: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw badRequest(`'${key}' must be ${expected}, got ${JSON.stringify(v)?.slice(0, 80)}`, key);
  return v;
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => isInt(t) && t >= 0);

function positiveInt(body: Body, key: string): number | undefined {
  const v = optional(body, key, isInt, 'an integer');
  if (v !== undefined && v < 1) throw badRequest(`'${key}' must be at least 1, got ${v}`, key);
  return v;
}

const MAX_STOP_STRINGS = 64;
const MAX_STOP_LENGTH = 1024;

/** Sampling knobs the twin accepts but does not simulate: type-checked so clients see the same 400s as on vLLM. */
const NUMERIC_KNOBS = ['top_p', 'top_k', 'min_p', 'presence_penalty', 'frequency_penalty', 'repetition_penalty'];

function samplingParams(body: Body, kind: 'completion' | 'chat', limits: ValidationLimits): SamplingParams {
  for (const k of NUMERIC_KNOBS) optional(body, k, isNumber, 'a number');
  const maxTokens = kind === 'chat'
    ? positiveInt(body, 'max_completion_tokens') ?? positiveInt(body, 'max_tokens')
    : positiveInt(body, 'max_tokens');
  if (kind === 'chat') positiveInt(body, 'max_tokens');

  let stop: string[] = [];
  const rawStop = body.stop;
  if (typeof rawStop === 'string') stop = [rawStop];
  else if (Array.isArray(rawStop) && rawStop.every(isString)) stop = rawStop;
  else if (rawStop !== undefined && rawStop !== null) throw badRequest("'stop' must be a string or a list of strings", 'stop');
  stop = stop.filter((s) => s.length > 0);
  // Every generated token is checked against every stop string: bound the work.
  if (stop.length > MAX_STOP_STRINGS) throw badRequest(`'stop' may hold at most ${MAX_STOP_STRINGS} strings, got ${stop.length}`, 'stop');
  if (stop.some((s) => s.length > MAX_STOP_LENGTH)) throw badRequest(`each 'stop' string may be at most ${MAX_STOP_LENGTH} characters`, 'stop');

  const n = positiveInt(body, 'n') ?? 1;
  if (n > limits.maxN) throw badRequest(`'n' must be at most ${limits.maxN} on this server, got ${n}`, 'n');
  const temperature = optional(body, 'temperature', isNumber, 'a number');
  if (temperature !== undefined && temperature < 0) throw badRequest(`'temperature' must be non-negative, got ${temperature}`, 'temperature');
  const seed = optional(body, 'seed', isInt, 'an integer');
  const stream = optional(body, 'stream', isBool, 'a boolean') ?? false;

  const streamOptions = optional(body, 'stream_options', isObject, 'an object');
  if (streamOptions && !stream) throw badRequest("Stream options can only be defined when `stream=True`.", 'stream_options');
  const includeUsage = streamOptions ? optional(streamOptions, 'include_usage', isBool, 'a boolean') ?? false : false;

  // logprobs are a property of a real model's distribution: the simulated engine has none to give.
  const logprobs = body.logprobs;
  if (logprobs !== undefined && logprobs !== null && logprobs !== false) {
    throw badRequest('logprobs are not available from the simulated engine (inferstack twin)', 'logprobs');
  }
  if (kind === 'completion' && body.echo === true) throw badRequest("'echo' is not supported by the simulated engine", 'echo');

  const kvTransfer = optional(body, 'kv_transfer_params', isObject, 'an object') as KvTransferParams | undefined;
  if (kvTransfer && n !== 1) throw badRequest("'kv_transfer_params' requires n = 1", 'n');

  return {
    maxTokens,
    stop,
    ignoreEos: optional(body, 'ignore_eos', isBool, 'a boolean') ?? false,
    n,
    temperature,
    seed,
    stream,
    includeUsage,
    cacheSalt: optional(body, 'cache_salt', isString, 'a string'),
    kvTransfer,
  };
}

function modelOf(body: Body): string {
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw badRequest("'model' is required and must be a string", 'model');
  return model;
}

export function parseCompletionRequest(body: unknown, limits: ValidationLimits): GenerationInput {
  if (!isObject(body)) throw badRequest('request body must be a JSON object');
  const model = modelOf(body);
  const prompt = body.prompt;
  let prompts: Array<string | number[]>;
  if (typeof prompt === 'string') prompts = [prompt];
  else if (isTokenIds(prompt)) prompts = [prompt];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string' || isTokenIds(p))) prompts = prompt as Array<string | number[]>;
  else throw badRequest("'prompt' must be a string, a list of token ids, or a non-empty list of those", 'prompt');
  if (prompts.length > limits.maxPrompts) throw badRequest(`at most ${limits.maxPrompts} prompts per request on this server, got ${prompts.length}`, 'prompt');
  const params = samplingParams(body, 'completion', limits);
  if (prompts.length * params.n > limits.maxN) throw badRequest(`prompts x n must be at most ${limits.maxN}, got ${prompts.length * params.n}`, 'n');
  if (params.kvTransfer && prompts.length !== 1) throw badRequest("'kv_transfer_params' requires a single prompt", 'prompt');
  return { kind: 'completion', model, prompts, params };
}

function messageContent(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part, j) => {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
      throw badRequest(`messages[${i}].content[${j}] must be a text part ({type: "text", text}); the simulated engine takes text only`, 'messages');
    }).join('');
  }
  throw badRequest(`messages[${i}].content must be a string or a list of text parts`, 'messages');
}

export function parseChatRequest(body: unknown, limits: ValidationLimits): GenerationInput {
  if (!isObject(body)) throw badRequest('request body must be a JSON object');
  const model = modelOf(body);
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest("'messages' must be a non-empty list", 'messages');
  const messages = raw.map((m, i): ChatMessage => {
    if (!isObject(m) || typeof m.role !== 'string') throw badRequest(`messages[${i}] must be an object with a string 'role'`, 'messages');
    return { role: m.role, content: messageContent(m.content, i) };
  });
  return { kind: 'chat', model, messages, params: samplingParams(body, 'chat', limits) };
}
