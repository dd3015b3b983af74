// Request bodies of /v1/completions and /v1/chat/completions -> checked, typed parameters.
// The fields every engine shares are parsed by src/http; this file adds what only the twin has:
// prompt batches, the sampling knobs vLLM type-checks, cache_salt and P/D kv_transfer_params.
import { badRequest } from '../../http/api-error.ts';
import { isNumber, isObject, isString, optional, type JsonObject } from '../../http/fields.ts';
import { parseMessages, parseModel, parsePrompts, type TextMessage } from '../../http/prompt-input.ts';
import { parseSamplingParams, type SamplingParams as CommonSamplingParams } from '../../http/sampling-params.ts';
import { responsesAsChatBody } from '../../http/responses-api.ts';

export interface KvTransferParams {
  do_remote_decode?: boolean;
  do_remote_prefill?: boolean;
  remote_engine_id?: string | null;
  remote_request_id?: string | null;
  remote_block_ids?: number[] | null;
  remote_host?: string | null;
  remote_port?: number | null;
  tp_size?: number;
}

export interface SamplingParams extends CommonSamplingParams {
  cacheSalt: string | undefined;
  kvTransfer: KvTransferParams | undefined;
}

export type GenerationInput =
  | { kind: 'completion'; model: string; prompts: Array<string | number[]>; params: SamplingParams }
  | { kind: 'chat'; model: string; messages: TextMessage[]; params: SamplingParams };

export interface ValidationLimits {
  maxN: number;
  maxPrompts: number;
}

/** Sampling knobs the twin accepts but does not simulate: type-checked so clients see the same 400s as on vLLM. */
const NUMERIC_KNOBS = ['top_k', 'min_p', 'presence_penalty', 'frequency_penalty', 'repetition_penalty'];

function samplingParams(body: JsonObject, kind: 'completion' | 'chat', limits: ValidationLimits): SamplingParams {
  for (const k of NUMERIC_KNOBS) optional(body, k, isNumber, 'a number');
  const common = parseSamplingParams(body, kind, { maxN: limits.maxN, maxStops: 64, maxStopLength: 1024, maxTemperature: Infinity });

  // logprobs are a property of a real model's distribution: the simulated engine has none to give.
  const logprobs = body.logprobs;
  if (logprobs !== undefined && logprobs !== null && logprobs !== false) {
    throw badRequest('logprobs are not available from the simulated engine (inferstack twin)', 'logprobs');
  }
  if (kind === 'completion' && body.echo === true) throw badRequest("'echo' is not supported by the simulated engine", 'echo');

  const kvTransfer = optional(body, 'kv_transfer_params', isObject, 'an object') as KvTransferParams | undefined;
  if (kvTransfer && common.n !== 1) throw badRequest("'kv_transfer_params' requires n = 1", 'n');
  return { ...common, cacheSalt: optional(body, 'cache_salt', isString, 'a string'), kvTransfer };
}

export function parseCompletionRequest(body: JsonObject, limits: ValidationLimits): GenerationInput {
  const model = parseModel(body);
  const prompts = parsePrompts(body, limits.maxPrompts);
  const params = samplingParams(body, 'completion', limits);
  if (prompts.length * params.n > limits.maxN) throw badRequest(`prompts x n must be at most ${limits.maxN}, got ${prompts.length * params.n}`, 'n');
  if (params.kvTransfer && prompts.length !== 1) throw badRequest("'kv_transfer_params' requires a single prompt", 'prompt');
  return { kind: 'completion', model, prompts, params };
}

/** A Responses API body (/v1/responses): the chat it renders to, one answer (src/http/responses-api.ts). */
export function parseResponsesRequest(body: JsonObject, limits: ValidationLimits): GenerationInput {
  return parseChatRequest(responsesAsChatBody(body), limits);
}

export function parseChatRequest(body: JsonObject, limits: ValidationLimits): GenerationInput {
  return { kind: 'chat', model: parseModel(body), messages: parseMessages(body), params: samplingParams(body, 'chat', limits) };
}
