// POST /v1/completions, /v1/chat/completions and /v1/responses: validate, tokenize, check the
// context window, handle the P/D kv_transfer_params, run one ChoiceRun per (prompt, n) and write the
// answer as one JSON body or as an SSE stream, exactly as vLLM frames them (a Responses API request
// is a chat with one answer, framed as that API's response object and named events).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TwinDisaggOptions } from '../core/types.ts';
import type { RealtimeTwin } from '../realtime.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { badRequest, notFound } from '../../http/api-error.ts';
import { readJsonObject } from '../../http/body.ts';
import { sendJson } from '../../http/respond.ts';
import { endSse, startSse, writeSse } from '../../http/sse.ts';
import { deltaChunk, finishChunk, fullResponse, usageChunk, usageOf, type ResponseMeta } from '../../http/completion-response.ts';
import { responseObject, responseStatus, responsesUsage, ResponsesFrames } from '../../http/responses-api.ts';
import { ChoiceRun, type ChoiceOutcome } from './choice.ts';
import { pullRemoteKv, type PrefillHolds, type PullOptions } from './kv-transfer.ts';
import type { TwinMetrics } from './metrics.ts';
import { parseChatRequest, parseCompletionRequest, parseResponsesRequest, type GenerationInput, type KvTransferParams, type ValidationLimits } from './validate.ts';

/** Every body says it came from a simulated engine. */
const SYSTEM_FINGERPRINT = 'inferstack-twin-simulated';

export type TwinRole = 'prefill' | 'decode' | 'both';

export interface DisaggCounters {
  pullsOk: number;
  pullsFailed: number;
}

export interface GenerateDeps {
  twin: RealtimeTwin;
  tokenizer: Tokenizer;
  servedModel: string;
  /** LoRA adapters served beside the base model, by the names clients send (vLLM --lora-modules). */
  loraAdapters: ReadonlySet<string>;
  maxModelLen: number;
  metrics: TwinMetrics;
  limits: ValidationLimits;
  maxBodyBytes: number;
  /** A slow SSE reader may leave at most this much unsent before its request is aborted. */
  maxBufferedStreamBytes: number;
  role: TwinRole;
  prefillHolds: PrefillHolds;
  pull: Omit<PullOptions, 'promptTokens' | 'signal'>;
  disagg: DisaggCounters;
  /** Seconds this request's own prefill takes on the step-time model (for the queue-time estimate). */
  ownPrefillSeconds(promptTokens: number, cachedTokens: number): number;
  log(message: string): void;
}

function tokenizePrompts(deps: GenerateDeps, input: GenerationInput): number[][] {
  if (input.kind === 'chat') {
    const text = deps.tokenizer.renderChat(input.messages, { addGenerationPrompt: true });
    return [deps.tokenizer.encode(text, { addSpecialTokens: false })];
  }
  return input.prompts.map((p, i) => {
    if (typeof p === 'string') return deps.tokenizer.encode(p);
    const bad = p.find((t) => t >= deps.tokenizer.vocabSize);
    if (bad !== undefined) throw badRequest(`prompt ${i}: token id ${bad} is out of vocabulary (size ${deps.tokenizer.vocabSize})`, 'prompt');
    return p;
  });
}

/** vLLM's context-window check, with its wording. */
function checkContext(promptTokens: number, maxTokens: number | undefined, maxModelLen: number): void {
  if (promptTokens === 0) throw badRequest('the prompt is empty: at least one token is needed', 'prompt');
  if (maxTokens === undefined ? promptTokens >= maxModelLen : promptTokens + maxTokens > maxModelLen) {
    const asked = maxTokens === undefined ? '' : ` (${promptTokens} in the messages, ${maxTokens} in the completion)`;
    throw badRequest(
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${promptTokens + (maxTokens ?? 0)} tokens${asked}. Please reduce the length of the messages or completion.`,
      'messages',
    );
  }
}

/** Validates kv_transfer_params against this twin's role; pulls the prompt's KV on a decode twin. */
async function prepareDisagg(deps: GenerateDeps, res: ServerResponse, kv: KvTransferParams | undefined, stream: boolean, promptTokens: number, signal: AbortSignal): Promise<TwinDisaggOptions | undefined> {
  if (kv?.do_remote_decode) {
    if (deps.role === 'decode') throw badRequest('this twin has the decode role: it does not serve do_remote_decode (prefill) requests', 'kv_transfer_params');
    if (stream) throw badRequest('a do_remote_decode (prefill) request must have stream=false', 'stream');
    return { holdBlocksAfterFinish: true };
  }
  if (kv?.do_remote_prefill) {
    if (deps.role === 'prefill') throw badRequest('this twin has the prefill role: it does not serve do_remote_prefill (decode) requests', 'kv_transfer_params');
    const r = await pullRemoteKv(kv, { ...deps.pull, promptTokens, signal });
    // Not in vLLM's API: says whether the prompt's KV came from the prefill peer.
    res.setHeader('x-inferstack-kv-transfer', r.ok ? 'pulled' : 'recomputed');
    if (r.ok) {
      deps.disagg.pullsOk++;
      return { promptKvTransferred: true };
    }
    // vLLM's default on a failed KV load: recompute the prompt locally.
    deps.disagg.pullsFailed++;
    deps.log(`twin: KV pull failed, recomputing the prompt locally: ${r.reason}`);
  }
  return undefined;
}

export async function handleGenerate(deps: GenerateDeps, api: 'completion' | 'chat' | 'responses', req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonObject(req, deps.maxBodyBytes);
  const input = api === 'chat' ? parseChatRequest(body, deps.limits) : api === 'responses' ? parseResponsesRequest(body, deps.limits) : parseCompletionRequest(body, deps.limits);
  const kind = input.kind;
  if (input.model !== deps.servedModel && !deps.loraAdapters.has(input.model)) throw notFound(`The model \`${input.model}\` does not exist.`, 'model');
  const lora = input.model === deps.servedModel ? undefined : input.model;
  const params = input.params;
  const prompts = tokenizePrompts(deps, input);
  for (const p of prompts) checkContext(p.length, params.maxTokens, deps.maxModelLen);

  // vLLM (--enable-request-id-headers) echoes the caller's request id, which P/D proxies set on both legs.
  const requestId = req.headers['x-request-id'];
  if (typeof requestId === 'string') res.setHeader('x-request-id', requestId);

  const disconnected = new AbortController();
  res.on('close', () => { if (!res.writableFinished) disconnected.abort(); });
  const disagg = await prepareDisagg(deps, res, params.kvTransfer, params.stream, prompts[0]!.length, disconnected.signal);
  if (disconnected.signal.aborted) return;

  const meta: ResponseMeta = { kind, id: `${api === 'responses' ? 'resp_' : kind === 'chat' ? 'chatcmpl-' : 'cmpl-'}${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: input.model, systemFingerprint: SYSTEM_FINGERPRINT };
  const responses = api === 'responses' ? new ResponsesFrames(meta) : undefined;
  const writeFrames = (frames: string) => { if (!res.writableEnded && !res.destroyed) res.write(frames); };
  const outcomes: ChoiceOutcome[] = [];
  let rejected: string | undefined;
  // Set from the run callbacks (an object, so TypeScript does not narrow it to its initial null).
  const prefillResult: { kvTransferParams: KvTransferParams | null } = { kvTransferParams: null };
  let streaming = false;
  // vLLM opens each chat choice with the assistant role in the same iteration as its first token
  // (the stream is silent until then, which is what a router reads as "prefill done").
  const opened = new Set<number>();
  const openChoice = (index: number) => {
    if (kind !== 'chat' || opened.has(index)) return;
    opened.add(index);
    if (responses) writeFrames(responses.open());
    else writeSse(res, deltaChunk(meta, index, '', true));
  };
  let settle!: () => void;
  const allDone = new Promise<void>((resolve) => { settle = resolve; });

  const runs = prompts.flatMap((promptTokenIds, pi) => Array.from({ length: params.n }, (_, k) => {
    const index = pi * params.n + k;
    return new ChoiceRun(deps.twin, {
      id: `${meta.id}-${index}`,
      index,
      promptTokenIds,
      maxTokens: params.maxTokens ?? deps.maxModelLen - promptTokenIds.length,
      ignoreEos: params.ignoreEos,
      cacheSalt: params.cacheSalt,
      lora,
      stop: params.stop,
      disagg,
    }, {
      decodeToken: (id) => deps.tokenizer.decode([id]),
      onDelta: (i, text) => {
        if (!streaming) return;
        openChoice(i);
        if (responses) writeFrames(responses.delta(text));
        else writeSse(res, deltaChunk(meta, i, text, false));
        // A reader this far behind would make us buffer without bound: drop it (this aborts its runs).
        if (res.writableLength > deps.maxBufferedStreamBytes) res.destroy();
      },
      onFirstToken: (ttft) => deps.metrics.observeFirstToken(ttft),
      onInterToken: (gap) => deps.metrics.observeInterToken(gap),
      onDone: (outcome, e2e) => {
        const queueTime = outcome.ttftSeconds === undefined ? undefined
          : outcome.ttftSeconds - deps.ownPrefillSeconds(promptTokenIds.length, outcome.cachedPromptTokens);
        deps.metrics.observeFinish(e2e, outcome.finishReason, queueTime);
        outcomes.push(outcome);
        // As vLLM's NixlConnector: only a prefill that ran to its length cap keeps its blocks for a
        // decode peer. Registered here, at once, so the hold always has its timeout.
        if (disagg?.holdBlocksAfterFinish && outcome.finishReason === 'length') {
          prefillResult.kvTransferParams = deps.prefillHolds.hold(`${meta.id}-${outcome.index}`, promptTokenIds.length);
        }
        if (streaming) {
          openChoice(outcome.index);
          if (!responses) writeSse(res, finishChunk(meta, outcome)); // a response closes with its usage, below
        }
        if (outcomes.length === runs.length) settle();
      },
      onRejected: (message) => {
        rejected ??= message;
        settle();
      },
    });
  }));

  disconnected.signal.addEventListener('abort', () => { for (const r of runs) r.abort(); }, { once: true });
  for (const r of runs) {
    r.start();
    if (rejected) break; // the core refuses synchronously: do not start the rest
  }
  if (rejected) {
    for (const r of runs) r.abort();
    throw badRequest(rejected);
  }

  if (params.stream) {
    streaming = true;
    startSse(res);
  }
  await allDone;
  if (disconnected.signal.aborted) {
    // Nobody will learn where the KV is: free it now rather than at the hold timeout.
    const held = prefillResult.kvTransferParams?.remote_request_id;
    if (held) deps.prefillHolds.release(held);
    return;
  }
  if (rejected) {
    for (const r of runs) r.abort();
    throw badRequest(rejected);
  }

  outcomes.sort((a, b) => a.index - b.index);
  const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
  const cached = outcomes.filter((o) => o.index % params.n === 0).reduce((s, o) => s + o.cachedPromptTokens, 0);
  const usage = usageOf(promptTokens, outcomes.reduce((sum, o) => sum + o.completionTokens, 0), cached);
  if (responses) {
    const [only] = outcomes as [ChoiceOutcome];
    const status = responseStatus(only.finishReason);
    const rUsage = responsesUsage(usage.prompt_tokens, usage.completion_tokens, cached);
    if (streaming) {
      writeFrames(responses.finish(only.text, status, rUsage));
      if (!res.writableEnded) res.end();
    }
    else sendJson(res, 200, responseObject(meta, status, only.text, rUsage));
    return;
  }
  if (streaming) {
    if (params.includeUsage) writeSse(res, usageChunk(meta, usage));
    endSse(res);
    return;
  }
  sendJson(res, 200, fullResponse(meta, outcomes, usage, { kv_transfer_params: prefillResult.kvTransferParams }));
}
