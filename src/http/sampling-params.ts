// The request fields /v1/completions and /v1/chat/completions share, checked as vLLM checks them:
// wrong types are 400s naming the field; unknown fields are ignored. Each server sets its own limits.
import { badRequest } from './api-error.ts';
import { isBool, isInt, isNumber, isObject, isString, optional, optionalPositiveInt, type JsonObject } from './fields.ts';

export interface SamplingLimits {
  /** choices per request */
  maxN: number;
  /** Every generated token is checked against every stop string: both bounds bound that work. */
  maxStops: number;
  maxStopLength: number;
  /** vLLM takes any temperature >= 0; OpenAI at most 2. */
  maxTemperature: number;
}

export interface SamplingParams {
  /** Undefined: generate up to the context window. */
  maxTokens: number | undefined;
  /** never empty strings */
  stop: string[];
  temperature: number | undefined;
  topP: number | undefined;
  seed: number | undefined;
  n: number;
  stream: boolean;
  /** stream_options.include_usage: a last chunk with the usage */
  includeUsage: boolean;
  /** vLLM's extension: keep generating past end-of-sequence */
  ignoreEos: boolean;
}

function parseStop(v: unknown, limits: SamplingLimits): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every(isString)) throw badRequest("'stop' must be a string or a list of strings", 'stop');
  const stop = list.filter((s) => s.length > 0);
  if (stop.length > limits.maxStops) throw badRequest(`'stop' may hold at most ${limits.maxStops} strings, got ${stop.length}`, 'stop');
  if (stop.some((s) => s.length > limits.maxStopLength)) throw badRequest(`each 'stop' string may be at most ${limits.maxStopLength} characters`, 'stop');
  return stop;
}

function parseN(body: JsonObject, maxN: number): number {
  const n = optionalPositiveInt(body, 'n') ?? 1;
  if (n > maxN) throw badRequest(maxN === 1 ? `'n' must be 1 on this server, got ${n}` : `'n' must be at most ${maxN} on this server, got ${n}`, 'n');
  return n;
}

function parseTemperature(body: JsonObject, max: number): number | undefined {
  const t = optional(body, 'temperature', isNumber, 'a number');
  if (t !== undefined && (t < 0 || t > max)) {
    throw badRequest(Number.isFinite(max) ? `'temperature' must be between 0 and ${max}, got ${t}` : `'temperature' must be non-negative, got ${t}`, 'temperature');
  }
  return t;
}

function parseTopP(body: JsonObject): number | undefined {
  const p = optional(body, 'top_p', isNumber, 'a number');
  if (p !== undefined && (p <= 0 || p > 1)) throw badRequest(`'top_p' must be in (0, 1], got ${p}`, 'top_p');
  return p;
}

export function parseSamplingParams(body: JsonObject, kind: 'completion' | 'chat', limits: SamplingLimits): SamplingParams {
  // Chat has both names (max_tokens is OpenAI's deprecated one); completions only max_tokens.
  const maxTokens = optionalPositiveInt(body, 'max_tokens');
  const maxCompletionTokens = kind === 'chat' ? optionalPositiveInt(body, 'max_completion_tokens') : undefined;
  const stream = optional(body, 'stream', isBool, 'a boolean') ?? false;
  const streamOptions = optional(body, 'stream_options', isObject, 'an object');
  if (streamOptions && !stream) throw badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  return {
    maxTokens: maxCompletionTokens ?? maxTokens,
    stop: parseStop(body.stop, limits),
    temperature: parseTemperature(body, limits.maxTemperature),
    topP: parseTopP(body),
    seed: optional(body, 'seed', isInt, 'an integer'),
    n: parseN(body, limits.maxN),
    stream,
    includeUsage: streamOptions ? optional(streamOptions, 'include_usage', isBool, 'a boolean') ?? false : false,
    ignoreEos: optional(body, 'ignore_eos', isBool, 'a boolean') ?? false,
  };
}
