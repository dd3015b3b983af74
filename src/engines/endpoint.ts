// One engine endpoint as the gateway sees it: the upstream adapter, its circuit breaker, the
// background signals that keep its view fresh (metric scrapes every 50 ms, health probes), and the
// gateway's own in-flight accounting. `view` is the object handed to the scheduler, kept up to
// date in place so building a cluster view costs nothing per request.
import { performance } from 'node:perf_hooks';
import type { EndpointView } from '../scheduler/types.ts';
import { CircuitBreaker, type BreakerOptions } from './circuit-breaker.ts';
import { HEALTH_PATH, type EngineType } from './engine-types.ts';
import { scraperFor, type MetricScraper } from './scrapers/index.ts';
import type { EngineTlsConfig } from '../trust/tls.ts';
import { Upstream, type UpstreamTimeouts } from './upstream.ts';

export interface EndpointConfig {
  url: string;
  engineType: EngineType;
  models: string[];
  role?: 'prefill' | 'decode' | 'both';
  timeouts?: Partial<UpstreamTimeouts>;
  /** Requests the gateway sends at once; beyond this the endpoint counts as saturated. */
  maxConcurrency?: number;
  apiKey?: string;
  /** SGLang disaggregation: the prefill server's bootstrap port. */
  bootstrapPort?: number;
  /** TLS profile for an https endpoint (see src/trust/tls.ts). */
  tls?: EngineTlsConfig;
}

export interface SignalOptions {
  scrapeIntervalMs: number;
  /** Timeout of a scrape or health probe; the scheduler itself ignores metrics older than 2 s (llm-d). */
  probeTimeoutMs: number;
  healthIntervalMs: number;
  breaker?: Partial<BreakerOptions>;
}

export const DEFAULT_SIGNALS: SignalOptions = { scrapeIntervalMs: 50, probeTimeoutMs: 2_000, healthIntervalMs: 500 };

export interface EndpointEvents {
  onEjected?(endpoint: EndpointRuntime): void;
  onReadmitted?(endpoint: EndpointRuntime): void;
  onScrapeError?(endpoint: EndpointRuntime, err: unknown): void;
}

const nowMs = () => performance.now();

export class EndpointRuntime {
  readonly config: EndpointConfig;
  readonly upstream: Upstream;
  readonly breaker: CircuitBreaker;
  readonly view: EndpointView;
  readonly maxConcurrency: number;
  private readonly signals: SignalOptions;
  private readonly scraper: MetricScraper | undefined;
  private readonly events: EndpointEvents;
  private scrapeTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** When a real request last succeeded here (performance.now() ms). */
  private lastSuccessMs = -Infinity;

  constructor(config: EndpointConfig, signals: Partial<SignalOptions> = {}, events: EndpointEvents = {}) {
    this.config = config;
    this.signals = { ...DEFAULT_SIGNALS, ...signals };
    this.events = events;
    this.maxConcurrency = config.maxConcurrency ?? 1024;
    this.upstream = new Upstream({ url: config.url, engineType: config.engineType, timeouts: config.timeouts, maxConnections: this.maxConcurrency, apiKey: config.apiKey, tls: config.tls });
    this.breaker = new CircuitBreaker(this.signals.breaker);
    this.scraper = scraperFor(config.engineType);
    this.view = {
      id: config.url,
      url: config.url,
      model: [...config.models],
      engineType: config.engineType,
      role: config.role ?? 'both',
      healthy: true,
      metrics: {},
      inflight: { requests: 0, promptTokens: 0, predictedBlocks: 0 },
    };
  }

  get id(): string {
    return this.view.id;
  }

  /** Starts scraping and probing (timers are unref'd: they never keep the process alive). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.scraper) this.scheduleScrape(0);
    this.scheduleProbe(this.signals.healthIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.scrapeTimer);
    clearTimeout(this.healthTimer);
  }

  get saturated(): boolean {
    return this.view.inflight.requests >= this.maxConcurrency;
  }

  begin(promptTokens: number, predictedBlocks: number): void {
    const f = this.view.inflight;
    f.requests++;
    f.promptTokens += promptTokens;
    f.predictedBlocks += predictedBlocks;
  }

  end(promptTokens: number, predictedBlocks: number): void {
    const f = this.view.inflight;
    f.requests = Math.max(0, f.requests - 1);
    f.promptTokens = Math.max(0, f.promptTokens - promptTokens);
    f.predictedBlocks = Math.max(0, f.predictedBlocks - predictedBlocks);
  }

  /** Passive health: the outcome of a real request. */
  recordOutcome(ok: boolean): void {
    if (ok) {
      this.lastSuccessMs = nowMs();
      this.breaker.recordSuccess();
      return;
    }
    if (this.breaker.recordFailure(nowMs())) this.markEjected();
  }

  private markEjected(): void {
    this.view.healthy = false;
    this.events.onEjected?.(this);
  }

  private scheduleScrape(delayMs: number): void {
    if (this.stopped) return;
    this.scrapeTimer = setTimeout(() => void this.scrapeOnce(), delayMs);
    this.scrapeTimer.unref();
  }

  private async scrapeOnce(): Promise<void> {
    try {
      // An engine in this process hands over its numbers: no /metrics text rendered and parsed.
      const inProcess = this.upstream.inProcess;
      const m = inProcess ? inProcess.metrics() : await this.scraper!.scrape((path) => this.upstream.getText(path, this.signals.probeTimeoutMs));
      this.view.metrics = { ...m, scrapedAt: nowMs() / 1000 };
    } catch (err) {
      // Keep the old numbers with their timestamp: the scheduler treats them as stale after 2 s.
      this.events.onScrapeError?.(this, err);
    }
    this.scheduleScrape(this.signals.scrapeIntervalMs);
  }

  private scheduleProbe(delayMs: number): void {
    if (this.stopped) return;
    this.healthTimer = setTimeout(() => void this.probeOnce(), delayMs);
    this.healthTimer.unref();
  }

  private async probeOnce(): Promise<void> {
    const ejected = !this.breaker.admitted;
    if (!ejected || this.breaker.probeDue(nowMs())) {
      let ok = false;
      try {
        // A busy engine answers slowly, not never: allow as long as a scrape (2 s by default).
        const r = await this.upstream.getText(HEALTH_PATH[this.config.engineType], this.signals.probeTimeoutMs);
        ok = r.status >= 200 && r.status < 300;
      } catch {
        // A probe that failed while real requests keep succeeding means a busy engine, not a
        // dead one: ejecting it would turn overload into 503s for everyone.
        ok = this.breaker.admitted && nowMs() - this.lastSuccessMs < this.signals.probeTimeoutMs + this.signals.healthIntervalMs;
      }
      if (this.stopped) return;
      const wasAdmitted = this.breaker.admitted;
      const readmitted = this.breaker.recordProbe(ok, nowMs());
      if (readmitted) {
        this.view.healthy = true;
        this.events.onReadmitted?.(this);
      } else if (wasAdmitted && !this.breaker.admitted) {
        this.markEjected();
      }
    }
    // Probe an ejected endpoint more often so it comes back soon after its cooldown.
    this.scheduleProbe(this.breaker.admitted ? this.signals.healthIntervalMs : Math.min(100, this.signals.healthIntervalMs));
  }

  /** Stops the signals and closes connections once in-flight streams end. */
  async close(): Promise<void> {
    this.stop();
    await this.upstream.close();
  }
}
