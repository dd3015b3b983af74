// A pool's prompt tokenizer (YAML `tokenizer`): the prompt's token ids as the pool's engines will
// compute them, so that precise prefix keys match the block keys in the engines' KV events and
// the prompt's length is counted instead of estimated at 4 characters per token. Three sources:
//  - file:    the model's tokenizer.json and chat template, loaded at config time;
//  - engine:  vLLM's POST /tokenize on one of the pool's healthy engines (exact by construction:
//             the engine renders its own template);
//  - builtin: the built-in tokenizer, which twins without --tokenizer use (the embedded default).
// Tokenizations are cached (bounded) by the request's prompt, so a repeated prompt costs a hash.
// A failure never fails the request: it is routed as if no tokenizer were configured (ids from
// the built-in tokenizer, length estimated), and counted.
import { performance } from 'node:perf_hooks';
import type { EndpointRuntime } from '../engines/endpoint.ts';
import { TokenizationCache, tokenizedPrompt, type TokenizedPrompt } from '../kv/tokenization-cache.ts';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.ts';
import type { Logger } from './logger.ts';
import { responsesChat, type RouteKind } from './openai-request.ts';

/** Engine types that serve vLLM's /tokenize (the twin is vLLM-compatible). */
export const TOKENIZE_ENGINES: readonly string[] = ['vllm', 'twin'];
export const DEFAULT_TOKENIZE_TIMEOUT_MS = 500;
/** An engine whose /tokenize failed is not asked again for this long: requests route on estimates at once instead of each waiting out a timeout. */
export const ENGINE_COOLDOWN_MS = 5_000;

export type TokenizeOutcome = 'cache_hit' | 'tokenized' | 'failed' | 'skipped';

/** What decides a prompt's tokens: the prompt (or messages) and the template's inputs. */
interface PromptSpec {
  /** Cache key within the model. */
  key: string;
  /** vLLM /tokenize body, without `model`. */
  tokenizeBody: Record<string, unknown>;
}

/**
 * The part of an OpenAI request body that decides its prompt tokens, or undefined when the prompt
 * is not text alone (a batch of prompts, or chat content other than text, is estimated, as without
 * a tokenizer).
 */
function promptSpec(kind: RouteKind, body: Record<string, unknown>): PromptSpec | undefined {
  // A Responses API request is tokenized as the chat it renders to (instructions, then input); its
  // tools have another shape than chat's, so they are left out (a close count, not an exact one).
  if (kind === 'responses') return promptSpec('chat', { ...body, messages: responsesChat(body), tools: undefined });
  if (kind === 'chat') {
    // Images, audio and video expand into tokens only the engine's processor can count, and asking
    // its /tokenize would make it fetch and process them: such prompts are estimated.
    if ((body.messages as ChatMessage[]).some((m) => Array.isArray(m.content) && m.content.some((part) => part?.type !== 'text'))) return undefined;
    const template = {
      add_generation_prompt: body.add_generation_prompt ?? true,
      ...(body.tools !== undefined ? { tools: body.tools } : {}),
      ...(body.chat_template_kwargs !== undefined ? { chat_template_kwargs: body.chat_template_kwargs } : {}),
    };
    const tokenizeBody = { messages: body.messages, ...template, add_special_tokens: false };
    return { key: `chat\u0000${JSON.stringify(tokenizeBody)}`, tokenizeBody };
  }
  const prompt = kind === 'completions' ? body.prompt : body.input;
  if (typeof prompt === 'string') return { key: `text\u0000${prompt}`, tokenizeBody: { prompt, add_special_tokens: true } };
  return undefined;
}

/** A prompt given as token ids (vLLM accepts them for completions): nothing to tokenize. */
function givenIds(kind: RouteKind, body: Record<string, unknown>): number[] | undefined {
  const prompt = kind === 'completions' ? body.prompt : kind === 'embeddings' ? body.input : undefined;
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => Number.isSafeInteger(t) && t >= 0)) return prompt as number[];
  return undefined;
}

export interface PromptTokenizerOptions {
  poolName: string;
  /** A tokenizer in this process (sources file and builtin), or the pool's engines (source engine). */
  source: { local: Tokenizer } | { engines: readonly EndpointRuntime[]; timeoutMs: number };
  logger: Logger;
  /** Told every outcome; for a fresh tokenization (`tokenized` or `failed`), how long it took. */
  onOutcome?: (outcome: TokenizeOutcome, seconds?: number) => void;
  cache?: TokenizationCache;
}

export class PromptTokenizer {
  readonly sourceName: 'local' | 'engine';
  private readonly o: PromptTokenizerOptions;
  private readonly cache: TokenizationCache;
  private next = 0;
  private failing = false;
  /** Engine id -> when (performance.now() ms) it may be asked again after a failure. */
  private readonly coolingUntil = new Map<string, number>();
  /** Tokenizations in flight by prompt: identical prompts arriving together share one call. */
  private readonly inflight = new Map<string, Promise<number[]>>();

  constructor(o: PromptTokenizerOptions) {
    this.o = o;
    this.sourceName = 'local' in o.source ? 'local' : 'engine';
    this.cache = o.cache ?? new TokenizationCache();
  }

  /**
   * The prompt's tokens for the body of a `kind` request to `model` (already validated by
   * parseOpenAIRequest), or undefined when they cannot be known (the caller estimates).
   */
  async tokenize(kind: RouteKind, model: string, body: Record<string, unknown>): Promise<TokenizedPrompt | undefined> {
    const ids = givenIds(kind, body);
    if (ids) return this.done('skipped', tokenizedPrompt(ids));
    const spec = promptSpec(kind, body);
    if (!spec) return this.done('skipped', undefined);
    const hit = this.cache.find(model, spec.key);
    if (hit) return this.done('cache_hit', hit);
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    try {
      const tokens = 'local' in this.o.source ? encodeLocally(this.o.source.local, kind, spec) : await this.askEngineOnce(model, spec);
      if (this.failing) this.o.logger.log('info', 'prompt tokenization recovered', { pool: this.o.poolName, source: this.sourceName });
      this.failing = false;
      return this.done('tokenized', this.cache.store(model, spec.key, tokens), took());
    } catch (err) {
      if (!this.failing) this.o.logger.log('warn', 'prompt tokenization failed; routing on estimates until it recovers', { pool: this.o.poolName, source: this.sourceName, error: (err as Error).message });
      this.failing = true;
      return this.done('failed', undefined, took());
    }
  }

  private done(outcome: TokenizeOutcome, p: TokenizedPrompt | undefined, seconds?: number): TokenizedPrompt | undefined {
    this.o.onOutcome?.(outcome, seconds);
    return p;
  }

  private askEngineOnce(model: string, spec: PromptSpec): Promise<number[]> {
    const key = `${model}\u0000${spec.key}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.askEngine(model, spec).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** vLLM's /tokenize on the next healthy engine that serves it and has not just failed. */
  private async askEngine(model: string, spec: PromptSpec): Promise<number[]> {
    const { engines, timeoutMs } = this.o.source as { engines: readonly EndpointRuntime[]; timeoutMs: number };
    const now = performance.now();
    const ready = engines.filter((e) => e.view.healthy && !((this.coolingUntil.get(e.id) ?? 0) > now));
    if (ready.length === 0) throw new Error(`no healthy engine to tokenize with (one that failed is left alone for ${ENGINE_COOLDOWN_MS / 1000} s)`);
    const engine = ready[this.next++ % ready.length]!;
    try {
      const r = await engine.upstream.postJson('/tokenize', { model, ...spec.tokenizeBody }, {}, AbortSignal.timeout(timeoutMs));
      // A 4xx is about this request (an unknown adapter, say), not the engine: no cooldown.
      if (r.status >= 400 && r.status < 500) throw new RequestTokenizeError(`${engine.id}/tokenize answered ${r.status}`);
      if (r.status !== 200) throw new Error(`${engine.id}/tokenize answered ${r.status}`);
      const tokens = (JSON.parse(r.body.toString('utf8')) as { tokens?: unknown }).tokens;
      if (!Array.isArray(tokens) || !tokens.every((t) => Number.isSafeInteger(t) && t >= 0)) throw new Error(`${engine.id}/tokenize answered without a token list`);
      return tokens as number[];
    } catch (err) {
      if (!(err instanceof RequestTokenizeError)) this.coolingUntil.set(engine.id, performance.now() + ENGINE_COOLDOWN_MS);
      throw err;
    }
  }
}

/** The engine refused this request's tokenization (4xx): the engine itself is fine. */
class RequestTokenizeError extends Error {}

/** A tokenizer in this process: render the chat with its template, as vLLM does, then encode. */
function encodeLocally(tokenizer: Tokenizer, kind: RouteKind, spec: PromptSpec): number[] {
  const b = spec.tokenizeBody;
  if (kind !== 'chat' && kind !== 'responses') return tokenizer.encode(b.prompt as string, { addSpecialTokens: true });
  const templateContext = { ...(b.tools !== undefined ? { tools: b.tools } : {}), ...((b.chat_template_kwargs as Record<string, unknown> | undefined) ?? {}) };
  const text = tokenizer.renderChat(b.messages as ChatMessage[], { addGenerationPrompt: b.add_generation_prompt !== false, templateContext });
  return tokenizer.encode(text, { addSpecialTokens: false });
}
