// Validation of the OpenAI request bodies the gateway routes, and the SchedulingRequest built from
// them. Only what routing needs is checked here; the engine validates the rest and its error is
// relayed in the OpenAI shape.
import { createTokenizer, type ChatMessage } from '../tokenizer/index.ts';
import { badRequest } from '../http/api-error.ts';
import { DEFAULT_ENGINE_BLOCK_SIZE } from '../scheduler/prefix-match.ts';
import type { SchedulingRequest } from '../scheduler/types.ts';
import { hashBlocks } from '../twin/core/block-hash.ts';
import type { TokenizedPrompt } from '../kv/tokenization-cache.ts';
import { responsesMessages } from '../http/responses-api.ts';

export type RouteKind = 'chat' | 'completions' | 'embeddings' | 'responses';

export interface ParsedRequest {
  model: string;
  stream: boolean;
  maxTokens?: number;
  priority: number;
  promptText: string;
}

function optionalPositiveInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw badRequest(`'${key}' must be a positive integer`, key);
  return v;
}

// The same built-in tokenizer and ChatML rendering the twin uses by default, so without a pool
// tokenizer (prompt-tokenizer.ts) the router's token ids and prompt text match what such a twin sees.
const tokenizer = createTokenizer();

/** A Responses API request's prompt as chat messages (items other than messages kept as their JSON, to route on). */
export function responsesChat(body: Record<string, unknown>): ChatMessage[] {
  return responsesMessages(body, { otherItems: 'as-json' }) as ChatMessage[];
}

function promptOf(kind: RouteKind, body: Record<string, unknown>): string {
  if (kind === 'responses') return tokenizer.renderChat(responsesChat(body), { addGenerationPrompt: true });
  if (kind === 'chat') {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw badRequest("'messages' must be a non-empty array", 'messages');
    messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') throw badRequest(`'messages[${i}].role' must be a string`, `messages[${i}].role`);
    });
    try {
      return tokenizer.renderChat(messages as ChatMessage[], { addGenerationPrompt: true });
    } catch (err) {
      throw badRequest(`'messages': ${(err as Error).message}`, 'messages');
    }
  }
  const key = kind === 'completions' ? 'prompt' : 'input';
  const value = body[key];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length > 0) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('\n');
  throw badRequest(`'${key}' must be a string or a non-empty array`, key);
}

export function parseOpenAIRequest(kind: RouteKind, body: Record<string, unknown>): ParsedRequest {
  if (typeof body.model !== 'string' || body.model === '') throw badRequest("'model' must be a non-empty string", 'model');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw badRequest("'stream' must be a boolean", 'stream');
  if (body.priority !== undefined && (typeof body.priority !== 'number' || !Number.isInteger(body.priority))) throw badRequest("'priority' must be an integer", 'priority');
  const maxTokens = optionalPositiveInt(body, 'max_completion_tokens') ?? optionalPositiveInt(body, 'max_tokens') ?? optionalPositiveInt(body, 'max_output_tokens');
  return {
    model: body.model,
    stream: body.stream === true,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    priority: (body.priority as number | undefined) ?? 0,
    promptText: promptOf(kind, body),
  };
}

/**
 * The SchedulingRequest for one HTTP request. Token ids, and the block keys chained over them, are
 * computed only when a policy reads them (precise prefix matching): tokenizing every request would
 * cost more than the rest of routing for the policies that never look. Computed once, they serve
 * every scorer, index lookup and re-scheduling of the request (a queued request is scheduled
 * again each time it wakes).
 */
class GatewaySchedulingRequest implements SchedulingRequest {
  id: string;
  model: string;
  promptText: string;
  promptTokens: number;
  priority: number;
  maxTokens?: number;
  sessionToken?: string;
  cacheSalt?: string;
  lora?: string;
  /** Block size of the pool's engines, for the block keys (the matcher re-hashes if an endpoint differs). */
  private readonly blockSize: number;
  /** The pool tokenizer's ids, with their cached block keys; absent without one (or when it failed). */
  private readonly tokenized: TokenizedPrompt | undefined;
  private ids: number[] | undefined;
  private keys: { blockSize: number; keys: readonly bigint[] } | undefined;

  constructor(id: string, parsed: ParsedRequest, blockSize: number, tokenized: TokenizedPrompt | undefined) {
    this.id = id;
    this.model = parsed.model;
    this.promptText = parsed.promptText;
    this.tokenized = tokenized;
    this.promptTokens = tokenized ? Math.max(1, tokenized.ids.length) : estimateTokens(parsed.promptText);
    this.priority = parsed.priority;
    this.blockSize = blockSize;
  }

  get promptTokenIds(): number[] {
    return (this.ids ??= this.tokenized?.ids ?? tokenizer.encode(this.promptText, { addSpecialTokens: false }));
  }

  /** Chained keys of the prompt's full blocks under its cache_salt and LoRA adapter (the twin's and the index's hashing). */
  get promptBlockKeys(): { blockSize: number; keys: readonly bigint[] } {
    return (this.keys ??= {
      blockSize: this.blockSize,
      keys: this.tokenized ? this.tokenized.blockKeys(this.blockSize, this.cacheSalt, this.lora) : hashBlocks(this.promptTokenIds, this.blockSize, this.cacheSalt, this.lora),
    });
  }
}

export function schedulingRequest(
  id: string,
  parsed: ParsedRequest,
  extras: { sessionToken?: string | undefined; cacheSalt?: string | undefined; lora?: string | undefined; blockSize?: number | undefined; tokenized?: TokenizedPrompt | undefined },
): SchedulingRequest {
  const r = new GatewaySchedulingRequest(id, parsed, extras.blockSize ?? DEFAULT_ENGINE_BLOCK_SIZE, extras.tokenized);
  if (parsed.maxTokens !== undefined) r.maxTokens = parsed.maxTokens;
  if (extras.sessionToken) r.sessionToken = extras.sessionToken;
  if (extras.cacheSalt) r.cacheSalt = extras.cacheSalt;
  if (extras.lora) r.lora = extras.lora;
  return r;
}

/** About 4 characters per token (llm-d's estimate when it does not tokenize). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
