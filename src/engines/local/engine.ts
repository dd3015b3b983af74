// One loaded model: a LlamaModel and one context with N parallel sequences ("slots"). Requests
// take a free slot (the one whose cached tokens share the longest prefix with the prompt, so a
// repeated prefix is not recomputed) or wait in a bounded queue. node-llama-cpp batches the
// evaluations of all busy sequences of a context together: continuous batching.
import { TokenBias, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { ChatTemplate, type ChatMessage } from './chat-template.ts';
import { randomInt } from 'node:crypto';
import { TextStream } from './text-stream.ts';
import { ApiError, badRequest } from '../../http/api-error.ts';

export interface EngineOptions {
  /** tokens of KV cache per sequence (default: the model's training context, at most 4096) */
  contextSize?: number;
  /** parallel sequences sharing one context (default 4) */
  parallelSequences?: number;
  /** CPU threads for evaluation (default: llama.cpp's math cores) */
  threads?: number;
  /** requests allowed to wait for a free sequence (default 64); more get 429 */
  maxWaiting?: number;
}

export interface GenerateRequest {
  promptTokens: Token[];
  /** undefined: up to the end of the sequence's context */
  maxTokens?: number;
  stop?: string[];
  temperature?: number;
  topP?: number;
  seed?: number;
  /** vLLM's ignore_eos: keep generating past end-of-generation tokens */
  ignoreEos?: boolean;
  signal?: AbortSignal;
  /** Streams each piece of text; a returned promise holds generation until it settles (backpressure). */
  onText?: (delta: string) => Promise<void> | undefined | void;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens whose KV was already in the slot (prefix reuse) */
  cachedTokens: number;
  queueSeconds: number;
  /** undefined when no token was generated */
  ttftSeconds: number | undefined;
  e2eSeconds: number;
}

export interface EngineStats {
  waiting: number;
  running: number;
  slots: number;
  /** KV cache held by running sequences, in tokens */
  kvUsedTokens: number;
  /** KV cache kept by idle sequences for prefix reuse, in tokens */
  kvCachedTokens: number;
  kvCapacityTokens: number;
}

interface Slot {
  id: number;
  sequence: LlamaContextSequence;
  busy: boolean;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(err: unknown): void;
}

export class AbortedError extends Error {
  constructor() {
    super('request cancelled');
    this.name = 'AbortedError';
  }
}

function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

const seconds = (fromMs: number) => (performance.now() - fromMs) / 1000;

export class LocalModelEngine {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private readonly maxWaiting: number;
  private readonly chatTemplate: ChatTemplate;
  private eogBias: TokenBias | undefined;
  private vocabSize: number | undefined;

  private constructor(model: LlamaModel, context: LlamaContext, maxWaiting: number) {
    this.model = model;
    this.context = context;
    this.maxWaiting = maxWaiting;
    this.slots = [];
    for (let i = 0; i < context.totalSequences; i++) this.slots.push({ id: i, sequence: context.getSequence(), busy: false });
    this.chatTemplate = new ChatTemplate(model.fileInfo.metadata.tokenizer?.chat_template, model.tokens.bosString, model.tokens.eosString);
  }

  static async load(llama: Llama, path: string, opts: EngineOptions = {}): Promise<LocalModelEngine> {
    const model = await llama.loadModel({ modelPath: path, gpuLayers: llama.gpu === false ? 0 : 'auto' });
    try {
      const contextSize = opts.contextSize ?? Math.min(model.trainContextSize, 4096);
      const context = await model.createContext({
        sequences: opts.parallelSequences ?? 4,
        contextSize,
        ...(opts.threads !== undefined ? { threads: opts.threads } : { threads: llama.cpuMathCores }),
        failedCreationRemedy: false,
      });
      return new LocalModelEngine(model, context, opts.maxWaiting ?? 64);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  /** Tokens per sequence: prompt + completion must fit. */
  get sequenceContextSize(): number {
    return this.slots[0]!.sequence.contextSize;
  }

  /** Renders messages with the GGUF's own chat template and tokenizes the result. */
  tokenizeChat(messages: ChatMessage[]): Token[] {
    return this.withBos(this.model.tokenize(this.chatTemplate.render(messages), true));
  }

  tokenizeText(text: string): Token[] {
    return this.withBos(this.model.tokenize(text, false));
  }

  private withBos(tokens: Token[]): Token[] {
    const bos = this.model.tokens.bos;
    if (bos !== null && this.model.tokens.shouldPrependBosToken && tokens[0] !== bos) return [bos, ...tokens];
    return tokens;
  }

  stats(): EngineStats {
    let running = 0;
    let used = 0;
    let cached = 0;
    for (const s of this.slots) {
      if (s.busy) {
        running++;
        used += s.sequence.nextTokenIndex;
      } else {
        cached += s.sequence.nextTokenIndex;
      }
    }
    return {
      waiting: this.waiters.length,
      running,
      slots: this.slots.length,
      kvUsedTokens: used,
      kvCachedTokens: cached,
      kvCapacityTokens: this.sequenceContextSize * this.slots.length,
    };
  }

  /** Per-sequence view, like llama.cpp server's GET /slots. */
  slotsView(): { id: number; state: 'processing' | 'idle'; n_ctx: number; n_past: number }[] {
    return this.slots.map((s) => ({ id: s.id, state: s.busy ? 'processing' : 'idle', n_ctx: s.sequence.contextSize, n_past: s.sequence.nextTokenIndex }));
  }

  /** Approximate memory held (weights + context state), as node-llama-cpp reports it. */
  memoryBytes(): number {
    return this.model.size + this.context.stateSize;
  }

  /** Throws a 400 unless the prompt and completion fit a sequence; returns the completion budget. */
  checkRequest(prompt: readonly Token[], maxTokens: number | undefined): number {
    if (prompt.length === 0) throw badRequest('the prompt is empty after tokenization', 'prompt');
    const vocab = this.vocabularySize();
    for (const t of prompt) {
      if (!Number.isInteger(t) || t < 0 || t >= vocab) throw badRequest(`token id ${t} is outside this model's vocabulary of ${vocab}`, 'prompt');
    }
    const limit = this.sequenceContextSize;
    const budget = maxTokens ?? limit - prompt.length;
    if (prompt.length + budget > limit || budget < 1) {
      throw badRequest(
        `this model's maximum context length is ${limit} tokens; the request needs ${prompt.length} prompt + ${maxTokens ?? 1} completion tokens`,
        'max_tokens',
      );
    }
    return budget;
  }

  vocabularySize(): number {
    if (this.vocabSize === undefined) {
      let n = 0;
      for (const _ of this.model.iterateAllTokens()) n++;
      this.vocabSize = n;
    }
    return this.vocabSize;
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const start = performance.now();
    const prompt = req.promptTokens;
    const maxTokens = this.checkRequest(prompt, req.maxTokens);
    const slot = await this.acquire(prompt, req.signal);
    try {
      return await this.run(slot, req, maxTokens, start);
    } finally {
      this.release(slot);
    }
  }

  private async run(slot: Slot, req: GenerateRequest, maxTokens: number, start: number): Promise<GenerateResult> {
    const queueSeconds = seconds(start);
    const prompt = req.promptTokens;
    const seq = slot.sequence;
    // Reuse the slot's cached prefix; at least one prompt token must be evaluated to get logits.
    const reuse = Math.min(commonPrefix(seq.contextTokens, prompt), prompt.length - 1);
    if (seq.nextTokenIndex > reuse) await seq.eraseContextTokenRanges([{ start: reuse, end: seq.nextTokenIndex }]);

    const stream = new TextStream(this.model, req.stop ?? []);
    let text = '';
    const emit = (delta: string) => {
      if (!delta) return;
      text += delta;
      return req.onText?.(delta);
    };
    let completionTokens = 0;
    let ttftSeconds: number | undefined;
    let finishReason: FinishReason = 'stop'; // the generator ends by itself at an end-of-generation token
    if (req.signal?.aborted) {
      // Cancelled while its prefix was being trimmed: evaluate nothing.
      return { text, finishReason: 'abort', promptTokens: prompt.length, completionTokens, cachedTokens: reuse, queueSeconds, ttftSeconds, e2eSeconds: seconds(start) };
    }
    const iterator = seq.evaluate(prompt.slice(reuse), {
      temperature: req.temperature ?? 1,
      topP: req.topP ?? 1,
      // Without a seed node-llama-cpp seeds with the current second: requests in the same second
      // would sample alike. No seed means random, as in OpenAI's API.
      seed: req.seed ?? randomInt(2 ** 32 - 1),
      topK: 0, // OpenAI semantics: no top-k unless asked (node-llama-cpp defaults to 40)
      ...(req.ignoreEos ? { tokenBias: this.noEogBias() } : {}),
    });
    for await (const token of iterator) {
      completionTokens++;
      ttftSeconds ??= seconds(start);
      const paused = emit(stream.push(token));
      if (paused) await paused;
      if (stream.stopped) break;
      if (req.signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      if (completionTokens >= maxTokens) {
        finishReason = 'length';
        break;
      }
    }
    emit(stream.flush());
    return {
      text,
      finishReason: stream.stopped ? 'stop' : finishReason,
      promptTokens: prompt.length,
      completionTokens,
      cachedTokens: reuse,
      queueSeconds,
      ttftSeconds,
      e2eSeconds: seconds(start),
    };
  }

  /**
   * Forbids every end-of-generation token (computed once per model). TokenBias.set() skips EOG
   * tokens on purpose, so the entries go into its bias map directly; node-llama-cpp is pinned, and
   * a test checks that ignore_eos always reaches max_tokens.
   */
  private noEogBias(): TokenBias {
    if (!this.eogBias) {
      const bias = new TokenBias(this.model.tokenizer);
      const map = (bias as unknown as { _biases: Map<Token, number> })._biases;
      for (const t of this.model.iterateAllTokens()) if (this.model.isEogToken(t)) map.set(t, Number.NEGATIVE_INFINITY);
      this.eogBias = bias;
    }
    return this.eogBias;
  }

  /** Picks the free slot holding the longest prefix of the prompt; among equals, the one caching least. */
  private pickFree(prompt: readonly Token[]): Slot | undefined {
    let best: Slot | undefined;
    let bestShared = -1;
    for (const s of this.slots) {
      if (s.busy) continue;
      const shared = commonPrefix(s.sequence.contextTokens, prompt);
      if (shared > bestShared || (shared === bestShared && s.sequence.nextTokenIndex < best!.sequence.nextTokenIndex)) {
        best = s;
        bestShared = shared;
      }
    }
    return best;
  }

  private acquire(prompt: readonly Token[], signal: AbortSignal | undefined): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const free = this.pickFree(prompt);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.waiters.length >= this.maxWaiting) {
      // 429: the SDKs retry it
      return Promise.reject(new ApiError(429, `all ${this.slots.length} sequences are busy and ${this.waiters.length} requests already wait`));
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) next.resolve(slot); // hand the slot over directly: it stays busy
    else slot.busy = false;
  }

  /** True when no request runs or waits: the registry may unload the model. */
  idle(): boolean {
    return this.waiters.length === 0 && this.slots.every((s) => !s.busy);
  }

  async dispose(): Promise<void> {
    for (const w of this.waiters.splice(0)) w.reject(new ApiError(503, 'the model was unloaded'));
    await this.context.dispose();
    await this.model.dispose();
  }
}
