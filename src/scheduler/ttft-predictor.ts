// Predicts the time to first token a request would see on an endpoint, from the same step-time
// model the engines (and the twin) are priced with:
//   queue   = prefill tokens already waiting there (router in-flight accounting), processed in
//             chunks of the step token budget alongside the endpoint's running decodes;
//   own     = this request's uncached prompt tokens on top of its cached prefix;
//   memory  = when the blocks in use plus the prompts not yet admitted overflow the KV cache, the
//             time until decodes free enough blocks;
//   planned = on a busy engine, the step already planned when the request arrives (async scheduling).
// It also prices what the request does to others there: prefills admitted to one step all finish
// when the step does, so a request that shares a step with prefills already waiting delays each of
// them (sharedStepDelaySeconds).
// Every step is priced with the endpoint's running decodes, each attending over the KV the engine
// holds per running request (scraped), which counts the tokens generated so far.
// The in-flight count says how much prefill was promised but not how much is done: a 100k-token
// prompt stays "pending" until its first token. So the predictor also keeps a virtual backlog per
// endpoint (seconds of prefill it sent there, drained as virtual time passes) and trusts the
// smaller of the two.
// Without a step-time model it falls back to a token count with the same shape.
import { LruMap } from '../kv/lru.ts';
import type { StepTimeModel } from '../physics/types.ts';
import { freshMetrics } from './signals.ts';
import type { EndpointView } from './types.ts';

/** vLLM's default max_num_batched_tokens: the prefill tokens one step can take. */
export const STEP_TOKEN_BUDGET = 8192;

/**
 * The chance that a prefill already waiting at an endpoint shares a step with the next one sent
 * there. With async scheduling a request arriving during step N runs in N+2: a waiting prefill
 * sent before step N+1 was planned runs in N+1, one sent after it in N+2 with the new one, and the
 * router does not see the step's phase, so one half. (1 was tried too: docs/routing.md, session 11.)
 */
export const SHARED_STEP_CHANCE = 0.5;
/** At most this many waiting prefills share a step with a new one: an 8,192-token step holds about 8 prompts of 1k tokens. */
export const MAX_SHARING = 8;

export interface TtftInputs {
  promptTokens: number;
  cachedTokens: number;
  maxTokens: number;
  blockSize: number;
}

export interface TtftPrediction {
  seconds: number;
  /** Of which: this request's own prefill (what its cache hit saves). */
  ownPrefillSeconds: number;
  /** Of which: the step a busy engine has already planned. */
  plannedStepSeconds: number;
  /** Fraction of the endpoint's KV admitting the request would need (above 1: it waits for memory). */
  kvPressure: number;
  /**
   * The delay the request's prefill is expected to add to prefills already waiting there, summed
   * over them: up to MAX_SHARING of them, each with SHARED_STEP_CHANCE.
   */
  sharedStepDelaySeconds: number;
}

export class TtftPredictor {
  private readonly model: StepTimeModel | undefined;
  private readonly decodeBuf: { contextLength: number }[] = [];
  /** endpoint id -> prefill seconds sent there, as of `at`. */
  private readonly backlog = new LruMap<string, { seconds: number; at: number }>(4096);

  constructor(model?: StepTimeModel) {
    this.model = model;
  }

  /** False for the token-count fallback, whose "seconds" only rank endpoints. */
  get predictsSeconds(): boolean {
    return this.model !== undefined;
  }

  predict(e: EndpointView, x: TtftInputs, now: number): TtftPrediction {
    const m = freshMetrics(e, now);
    const queuedPrefill = Math.max(0, e.inflight.pendingPrefillTokens ?? e.inflight.promptTokens);
    const sequences = Math.max(e.inflight.requests, (m.running ?? 0) + (m.waiting ?? 0));
    const avgContext = e.inflight.requests > 0 ? e.inflight.promptTokens / e.inflight.requests : 0;
    // What a running sequence attends over: its prompt and what it has generated so far. The KV the
    // engine holds per running request says that directly; the prompts sent there stand in without it.
    const capacity = m.numGpuBlocks ?? e.metrics.numGpuBlocks;
    const decodeContext = capacity && m.kvUsage !== undefined && (m.running ?? 0) > 0 ? (m.kvUsage * capacity * (m.blockSize ?? x.blockSize)) / m.running! : avgContext;
    const uncached = Math.max(1, x.promptTokens - x.cachedTokens);
    const decodes = Math.min(sequences, 512);
    const chunk = Math.max(512, STEP_TOKEN_BUDGET - decodes);

    // Seconds per prefill token when steps are full, and the cost of this request's own prefill.
    const chunkStep = this.step(chunk, avgContext, decodes, decodeContext);
    let queueSeconds = (queuedPrefill / chunk) * chunkStep;
    const b = this.backlog.peek(e.id);
    if (b) queueSeconds = Math.min(queueSeconds, Math.max(0, b.seconds - Math.max(0, now - b.at)));
    // Chunk by chunk: each attends over the cached prefix and the chunks before it (the step model
    // adds the chunk's own causal attention).
    let ownSeconds = 0;
    for (let done = 0; done < uncached; done += chunk) {
      ownSeconds += this.step(Math.min(chunk, uncached - done), x.cachedTokens + done, decodes, decodeContext);
    }
    // Priced with the whole prefill, not only the chunk that shares their step: measured both ways
    // on the tuned traces, the whole prefill ranked better (docs/routing.md, session 11).
    const sharing = Math.min(MAX_SHARING, e.inflight.pendingPrefillRequests ?? 0);
    const sharedStepDelaySeconds = SHARED_STEP_CHANCE * sharing * ownSeconds;

    // KV pressure: the blocks admitting this request needs now, against the endpoint's capacity.
    // vLLM allocates blocks on demand, so a request waits for memory only when the blocks in use
    // (scraped) plus the prompts sent there and not yet prefilled plus its own prompt do not fit.
    // The router's promised blocks count every running request's whole output as well, about twice
    // what steady-state decodes hold, and stand in only when there is no fresh usage metric.
    let kvPressure = 0;
    if (capacity && m.kvUsage !== undefined) kvPressure = Math.min(1, Math.max(0, m.kvUsage)) + Math.ceil((queuedPrefill + x.promptTokens) / x.blockSize) / capacity;
    else if (capacity) kvPressure = (e.inflight.predictedBlocks + Math.ceil((x.promptTokens + x.maxTokens) / x.blockSize)) / capacity;
    // One decode step of the running batch prices both the step a busy engine has already planned
    // (async scheduling: a request reaching it waits that step out; an idle one starts at once) and
    // the memory wait: blocks free as running requests finish, roughly (overflow share) x one
    // request's decode time.
    const decodeStep = sequences > 0 || kvPressure > 1 ? this.step(0, 0, decodes, decodeContext) : 0;
    const plannedStepSeconds = sequences > 0 ? decodeStep : 0;
    const memorySeconds = kvPressure > 1 ? (kvPressure - 1) * x.maxTokens * decodeStep : 0;
    return { seconds: plannedStepSeconds + queueSeconds + ownSeconds + memorySeconds, ownPrefillSeconds: ownSeconds, plannedStepSeconds, kvPressure, sharedStepDelaySeconds };
  }

  /** The request was sent to `endpointId`: its prefill joins that endpoint's virtual backlog. */
  commit(endpointId: string, now: number, prefillSeconds: number, plannedStepSeconds = 0): void {
    const b = this.backlog.get(endpointId);
    const left = b ? Math.max(0, b.seconds - Math.max(0, now - b.at)) : 0;
    // An empty backlog starts draining once the step already planned there has run.
    this.backlog.set(endpointId, left > 0 ? { seconds: left + prefillSeconds, at: now } : { seconds: prefillSeconds, at: now + plannedStepSeconds });
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
