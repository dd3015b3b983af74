// Predicts the time to first token a request would see on an endpoint, from the same step-time
// model the engines (and the twin) are priced with:
//   queue   = prefill tokens already waiting there (router in-flight accounting), processed in
//             chunks of the step token budget alongside the endpoint's running decodes;
//   own     = this request's uncached prompt tokens on top of its cached prefix;
//   memory  = when the endpoint's KV would overflow, the time until decodes free enough blocks.
// Without a step-time model it falls back to a token count with the same shape.
import type { StepTimeModel } from '../physics/types.ts';
import { freshMetrics } from './signals.ts';
import type { EndpointView } from './types.ts';

/** vLLM's default max_num_batched_tokens: the prefill tokens one step can take. */
export const STEP_TOKEN_BUDGET = 8192;

export interface TtftInputs {
  promptTokens: number;
  cachedTokens: number;
  maxTokens: number;
  blockSize: number;
}

export interface TtftPrediction {
  seconds: number;
  /** Fraction of the endpoint's KV the request would push it to (predicted blocks / capacity). */
  kvPressure: number;
}

export class TtftPredictor {
  private readonly model: StepTimeModel | undefined;
  private readonly decodeBuf: { contextLength: number }[] = [];

  constructor(model?: StepTimeModel) {
    this.model = model;
  }

  predict(e: EndpointView, x: TtftInputs, now: number): TtftPrediction {
    const m = freshMetrics(e, now);
    const queuedPrefill = Math.max(0, e.inflight.pendingPrefillTokens ?? e.inflight.promptTokens);
    const sequences = Math.max(e.inflight.requests, (m.running ?? 0) + (m.waiting ?? 0));
    const avgContext = e.inflight.requests > 0 ? e.inflight.promptTokens / e.inflight.requests : 0;
    const uncached = Math.max(1, x.promptTokens - x.cachedTokens);
    const decodes = Math.min(sequences, 512);
    const chunk = Math.max(512, STEP_TOKEN_BUDGET - decodes);

    // Seconds per prefill token when steps are full, and the cost of this request's own prefill.
    const chunkStep = this.step(chunk, avgContext, decodes, avgContext);
    const queueSeconds = (queuedPrefill / chunk) * chunkStep;
    const ownSteps = Math.ceil(uncached / chunk);
    const ownSeconds = ownSteps * this.step(Math.min(uncached, chunk), x.cachedTokens + uncached / 2, decodes, avgContext);

    // KV pressure: blocks the endpoint has promised plus this request's, against its capacity.
    const capacity = m.numGpuBlocks ?? e.metrics.numGpuBlocks;
    const need = Math.ceil((x.promptTokens + x.maxTokens) / x.blockSize);
    const kvPressure = capacity ? (e.inflight.predictedBlocks + need) / capacity : 0;
    let memorySeconds = 0;
    if (kvPressure > 1) {
      // Blocks free as running requests finish: roughly (overflow share) x one request's decode time.
      const decodeStep = this.step(0, 0, decodes, avgContext);
      memorySeconds = (kvPressure - 1) * x.maxTokens * decodeStep;
    }
    return { seconds: queueSeconds + ownSeconds + memorySeconds, kvPressure };
  }

  /** One step with `prefill` new tokens (over `cached` context) and `decodes` running sequences. */
  private step(prefill: number, cached: number, decodes: number, decodeContext: number): number {
    if (!this.model) return (prefill + decodes) * 1e-4; // token-count fallback (~10k tokens/s)
    const buf = this.decodeBuf;
    while (buf.length < decodes) buf.push({ contextLength: 0 });
    for (let i = 0; i < decodes; i++) buf[i]!.contextLength = Math.max(1, Math.round(decodeContext));
    const decode = buf.length === decodes ? buf : buf.slice(0, decodes);
    return this.model.stepSeconds({ prefill: prefill > 0 ? [{ tokens: Math.round(prefill), cachedContext: Math.round(cached) }] : [], decode });
  }
}
