// URL -> handler for the twin's HTTP API. Every handler error becomes a vLLM-shaped error response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tokenizer } from '../../tokenizer/index.ts';
import { ApiError, VLLM_ERRORS, asApiError, badRequest, notFound } from '../../http/api-error.ts';
import { isObject } from '../../http/fields.ts';
import { readJsonObject } from '../../http/body.ts';
import { replyWithError, sendJson, sendText } from '../../http/respond.ts';
import { handleGenerate, type GenerateDeps } from './generate.ts';
import { KV_PULL_PATH, KV_RELEASE_PATH } from './kv-transfer.ts';
import type { TwinMetrics } from './metrics.ts';

export interface RouteDeps extends GenerateDeps {
  tokenizer: Tokenizer;
  metrics: TwinMetrics;
  modelRoot: string;
  startedAt: number;
  isClosing(): boolean;
}

type Handler = (deps: RouteDeps, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

function modelCard(deps: RouteDeps) {
  return {
    id: deps.servedModel,
    object: 'model',
    created: deps.startedAt,
    owned_by: 'inferstack-twin (simulated)',
    root: deps.modelRoot,
    parent: null,
    max_model_len: deps.maxModelLen,
  };
}

/** vLLM's POST /tokenize: a prompt, or chat messages rendered with the chat template. */
async function tokenize(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonObject(req, deps.maxBodyBytes);
  if (body.model !== undefined && body.model !== deps.servedModel && !deps.loraAdapters.has(String(body.model))) throw notFound(`The model \`${String(body.model)}\` does not exist.`, 'model');
  let tokens: number[];
  if (typeof body.prompt === 'string') {
    const add = body.add_special_tokens;
    if (add !== undefined && typeof add !== 'boolean') throw badRequest("'add_special_tokens' must be a boolean", 'add_special_tokens');
    tokens = deps.tokenizer.encode(body.prompt, { addSpecialTokens: add ?? true });
  } else if (Array.isArray(body.messages)) {
    const messages = body.messages.map((m, i) => {
      if (!isObject(m) || typeof m.role !== 'string') throw badRequest(`messages[${i}] must be an object with a string 'role'`, 'messages');
      return m as { role: string };
    });
    const agp = body.add_generation_prompt;
    if (agp !== undefined && typeof agp !== 'boolean') throw badRequest("'add_generation_prompt' must be a boolean", 'add_generation_prompt');
    tokens = deps.tokenizer.encode(deps.tokenizer.renderChat(messages, { addGenerationPrompt: agp ?? true }), { addSpecialTokens: false });
  } else {
    throw badRequest("give either 'prompt' (a string) or 'messages' (a list)", 'prompt');
  }
  sendJson(res, 200, { count: tokens.length, max_model_len: deps.maxModelLen, tokens, token_strs: null });
}

async function detokenize(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const tokens = (await readJsonObject(req, deps.maxBodyBytes)).tokens;
  if (!Array.isArray(tokens) || !tokens.every((t) => Number.isSafeInteger(t) && t >= 0 && t < deps.tokenizer.vocabSize)) {
    throw badRequest(`'tokens' must be a list of token ids below ${deps.tokenizer.vocabSize}`, 'tokens');
  }
  sendJson(res, 200, { prompt: deps.tokenizer.decode(tokens as number[]) });
}

/** The internal P/D routes: a decode twin reads a held prompt's KV, then releases it. */
async function kvTransfer(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, action: 'pull' | 'release'): Promise<void> {
  const id = (await readJsonObject(req, 4096)).request_id;
  if (typeof id !== 'string') throw badRequest("'request_id' must be a string", 'request_id');
  if (action === 'pull') {
    const kv = deps.prefillHolds.pull(id);
    if (!kv) throw notFound(`no KV held for request ${id} (unknown, already released or timed out)`, 'request_id');
    sendJson(res, 200, kv);
  } else {
    if (!deps.prefillHolds.release(id)) throw notFound(`no KV held for request ${id}`, 'request_id');
    sendJson(res, 200, { released: true });
  }
}

const ROUTES: Record<string, Record<string, Handler>> = {
  '/v1/completions': { POST: (d, q, s) => handleGenerate(d, 'completion', q, s) },
  '/v1/chat/completions': { POST: (d, q, s) => handleGenerate(d, 'chat', q, s) },
  '/v1/responses': { POST: (d, q, s) => handleGenerate(d, 'responses', q, s) },
  '/v1/models': { GET: (d, _q, s) => sendJson(s, 200, { object: 'list', data: [modelCard(d), ...[...d.loraAdapters].map((id) => ({ ...modelCard(d), id, root: id, parent: d.servedModel }))] }) },
  '/health': {
    GET: (d, _q, s) => {
      if (d.isClosing()) throw new ApiError(503, 'the simulated engine is shutting down');
      s.writeHead(200, { 'content-length': 0 });
      s.end();
    },
  },
  '/version': { GET: (_d, _q, s) => sendJson(s, 200, { version: 'inferstack-twin-simulated' }) },
  '/tokenize': { POST: tokenize },
  '/detokenize': { POST: detokenize },
  '/metrics': { GET: async (d, _q, s) => sendText(s, 200, await d.metrics.render(), d.metrics.registry.contentType) },
  [KV_PULL_PATH]: { POST: (d, q, s) => kvTransfer(d, q, s, 'pull') },
  [KV_RELEASE_PATH]: { POST: (d, q, s) => kvTransfer(d, q, s, 'release') },
};

export async function route(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('x-inferstack-simulated', 'true'); // every response says the engine is simulated
  try {
    const path = new URL(req.url ?? '/', 'http://twin').pathname;
    const methods = ROUTES[path];
    if (!methods) throw notFound(`no route ${req.method} ${path} on this simulated vLLM server`);
    const handler = methods[req.method ?? ''];
    if (!handler) throw new ApiError(405, `method ${req.method} is not allowed on ${path}; use ${Object.keys(methods).join(', ')}`);
    await handler(deps, req, res);
  } catch (err) {
    const apiError = asApiError(err, 'internal error in the simulated engine');
    if (apiError.status >= 500) deps.log(`twin: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
    replyWithError(res, apiError, VLLM_ERRORS);
  }
}
