// The seam between the gateway (or the virtual cluster) and the scheduler. The scheduler is pure:
// request + cluster view + time in, decision out. No I/O, no clock, no timers.

export interface EndpointView {
  id: string; // stable id, e.g. the base URL
  url: string;
  model: string[]; // served model names
  engineType: string; // vllm | sglang | trtllm | llamacpp | ollama | openai | twin | local
  role?: 'prefill' | 'decode' | 'both';
  healthy: boolean;
  /** Scraped engine metrics; undefined fields are unknown. `scrapedAt` is seconds on the caller's clock. */
  metrics: {
    waiting?: number;
    running?: number;
    kvUsage?: number; // 0..1
    blockSize?: number;
    numGpuBlocks?: number;
    /** LoRA adapters the engine has running or waiting, and how many it batches at once (vLLM --max-loras). */
    lora?: { active: string[]; max: number };
    scrapedAt?: number;
  };
  /** The router's own accounting of what it sent and has not seen finish. */
  inflight: {
    requests: number;
    promptTokens: number;
    predictedBlocks: number;
    /**
     * Prompt tokens still to be prefilled: for each in-flight request without a first token yet,
     * its prompt tokens minus the decision's `predictedCachedTokens`. Optional; TTFT-predicting and
     * Dynamo-style policies fall back to `promptTokens` when absent.
     */
    pendingPrefillTokens?: number;
    /** How many in-flight requests those are (each counted while it has tokens pending). Optional, as above. */
    pendingPrefillRequests?: number;
  };
}

export interface ClusterView {
  endpoints: EndpointView[];
}

export interface SchedulingRequest {
  id: string;
  model: string;
  /** The rendered prompt text (chat messages flattened) when known; used by text-based prefix scorers. */
  promptText?: string;
  /** Token ids when the router has tokenized (precise prefix) or the trace carries them. */
  promptTokenIds?: readonly number[] | Uint32Array;
  /**
   * Chained block keys of promptTokenIds (twin/core/block-hash.ts, with cacheSalt), when the caller
   * cached them with the tokenization; saves the precise index the hashing. Optional.
   */
  promptBlockKeys?: { blockSize: number; keys: readonly bigint[] };
  /** Best estimate of prompt length in tokens. */
  promptTokens: number;
  maxTokens?: number;
  sessionToken?: string;
  cacheSalt?: string;
  lora?: string;
  priority?: number;
}

export interface SchedulingDecision {
  /** Ordered: the first is the pick, the rest are fallbacks for retries. Empty means no endpoint. */
  endpoints: EndpointView[];
  /** Set when the profile handler chose to disaggregate: prefill here first, then decode on endpoints[0]. */
  prefill?: EndpointView[];
  /** Why nothing was picked, when endpoints is empty: 'no-healthy' -> 503, 'saturated' -> 429. */
  reject?: 'no-healthy' | 'saturated';
  /** The policy's estimate of prompt tokens already cached on endpoints[0] (for in-flight accounting). */
  predictedCachedTokens?: number;
  /** The policy's predicted seconds from this decision to the first token on endpoints[0], when it
   *  predicts one (inferstack) and the request is not disaggregated; reported against the real TTFT. */
  predictedTtftSeconds?: number;
}

export interface Scheduler {
  readonly name: string;
  schedule(request: SchedulingRequest, view: ClusterView, nowSeconds: number): SchedulingDecision;
  /** Told when a request routed to `endpointId` has finished, so stateful policies can learn. */
  onComplete?(request: SchedulingRequest, endpointId: string, nowSeconds: number): void;
}
