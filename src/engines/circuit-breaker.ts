// Ejection and re-admission of an endpoint. Consecutive failures (failed requests, failed probes)
// open the breaker: the endpoint leaves the routing view. After a cooldown the health probe decides:
// success re-admits it, failure keeps it out with a doubled cooldown (so a flapping engine is kept
// out longer each time it fails soon after coming back).

export interface BreakerOptions {
  failureThreshold: number;
  baseCooldownMs: number;
  maxCooldownMs: number;
  /** A failure this soon after re-admission counts as flapping: the next cooldown doubles. */
  flapWindowMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, baseCooldownMs: 1_000, maxCooldownMs: 30_000, flapWindowMs: 10_000 };

export type BreakerState = 'closed' | 'open';

export class CircuitBreaker {
  private readonly options: BreakerOptions;
  private stateValue: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private closedAt = -Infinity;
  private cooldownMs: number;
  /** Times the breaker opened (for metrics and tests). */
  ejections = 0;

  constructor(options: Partial<BreakerOptions> = {}) {
    this.options = { ...DEFAULT_BREAKER, ...options };
    this.cooldownMs = this.options.baseCooldownMs;
  }

  get state(): BreakerState {
    return this.stateValue;
  }

  get admitted(): boolean {
    return this.stateValue === 'closed';
  }

  /** A request or probe failed (connect error, timeout, 5xx). Returns true when this ejected it. */
  recordFailure(nowMs: number): boolean {
    this.failures++;
    if (this.stateValue === 'closed' && this.failures >= this.options.failureThreshold) {
      const flapping = nowMs - this.closedAt < this.options.flapWindowMs;
      this.cooldownMs = flapping ? Math.min(this.options.maxCooldownMs, this.cooldownMs * 2) : this.options.baseCooldownMs;
      this.stateValue = 'open';
      this.openedAt = nowMs;
      this.ejections++;
      return true;
    }
    return false;
  }

  /** A request succeeded: resets the failure streak (an ejected endpoint waits for its probe). */
  recordSuccess(): void {
    if (this.stateValue === 'closed') this.failures = 0;
  }

  /** Whether a probe of an ejected endpoint may decide re-admission now. */
  probeDue(nowMs: number): boolean {
    return this.stateValue === 'open' && nowMs - this.openedAt >= this.cooldownMs;
  }

  /** The health probe's verdict. Returns true when this re-admitted the endpoint. */
  recordProbe(ok: boolean, nowMs: number): boolean {
    if (this.stateValue === 'closed') {
      if (ok) this.recordSuccess();
      else this.recordFailure(nowMs);
      return false;
    }
    if (!this.probeDue(nowMs)) return false;
    if (ok) {
      this.stateValue = 'closed';
      this.failures = 0;
      this.closedAt = nowMs;
      return true;
    }
    this.openedAt = nowMs;
    this.cooldownMs = Math.min(this.options.maxCooldownMs, this.cooldownMs * 2);
    return false;
  }
}
