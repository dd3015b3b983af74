// Request bodies of /v1/chat/completions and /v1/completions -> checked, typed parameters. The
// fields are parsed by src/http (as the twin parses them); this engine's limits: one choice and one
// prompt per request, OpenAI's temperature range, and a 32-bit seed for llama.cpp.
import type { JsonObject } from '../../http/fields.ts';
import { parseMessages, parseModel, parsePrompts } from '../../http/prompt-input.ts';
import { parseSamplingParams, type SamplingLimits, type SamplingParams } from '../../http/sampling-params.ts';
import type { ChatMessage } from './chat-template.ts';

export interface GenerationParams extends SamplingParams {
  kind: 'chat' | 'completion';
  model: string;
  messages: ChatMessage[];
  /** completions: text, or token ids */
  prompt: string | number[];
}

const LIMITS: SamplingLimits = { maxN: 1, maxStops: 16, maxStopLength: 512, maxTemperature: 2 };

export function parseGenerationRequest(kind: 'chat' | 'completion', body: JsonObject): GenerationParams {
  const model = parseModel(body);
  const messages = kind === 'chat' ? parseMessages(body) : [];
  const prompt = kind === 'completion' ? parsePrompts(body, 1)[0]! : '';
  const sampling = parseSamplingParams(body, kind, LIMITS);
  return {
    ...sampling,
    kind,
    model,
    messages,
    prompt,
    // llama.cpp takes a 32-bit seed
    seed: sampling.seed === undefined ? undefined : Number(BigInt.asUintN(32, BigInt(sampling.seed))),
  };
}
