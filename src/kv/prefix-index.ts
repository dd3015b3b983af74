// The contract every prefix index implements (approximate and precise), so one shared test suite
// and every prefix scorer work against either. Keys are chained block hashes: key i covers blocks
// 0..i, so "endpoint holds key i" implies it held the whole prefix when it was stored.

export interface PrefixIndex {
  readonly kind: 'approximate' | 'precise';
  /**
   * For each endpoint, the tier-weighted length of the unbroken run of `keys` it holds starting at
   * block 0 (a GPU block counts 1; a CPU-tier block less). Missing block 0 means 0.
   */
  matchedBlocks(keys: readonly bigint[], endpointIds: readonly string[], now: number): number[];
  /**
   * The router placed a request with these block keys on `endpointId`. The approximate index learns
   * from this; the precise index records it as speculative until the engine's event confirms it.
   */
  recordDecision(endpointId: string, keys: readonly bigint[], now: number): void;
  /** Forget everything about an endpoint (it left the pool or restarted). */
  removeEndpoint(endpointId: string): void;
  /** Total (endpoint, block) entries held, for bounds checks and /metrics. */
  size(): number;
}
