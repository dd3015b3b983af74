// The multi-model lifecycle. Models named in config are available; the first request for one loads
// it (cold start, timed); loaded models share a memory budget and the least recently used idle one
// is unloaded to make room; a model idle for `idleTimeoutMs` is unloaded (scale to zero). Requests
// that arrive while their model loads wait in a bounded queue. Each model loads on its own: one
// loading never holds up another model's requests.
import { validateGgufFile, GgufError, type GgufSummary } from '../../trust/gguf.ts';
import { getLlamaRuntime } from './llama-runtime.ts';
import { LocalModelEngine, type EngineOptions, type EngineStats } from './engine.ts';
import { estimateModelBytes, modelShape } from './model-memory.ts';
import { ApiError, notFound } from '../../http/api-error.ts';

const unavailable = (message: string) => new ApiError(503, message);

export interface LocalModelConfig {
  /** the name clients send as `model` */
  name: string;
  path: string;
  contextSize?: number;
  parallelSequences?: number;
}

export type UnloadReason = 'idle' | 'memory' | 'shutdown';

export interface RegistryOptions {
  models: LocalModelConfig[];
  /** bytes all loaded models may use together (weights + KV estimate); default unlimited */
  memoryBudgetBytes?: number;
  /** unload a model after this long without requests; 0 or undefined: never */
  idleTimeoutMs?: number;
  parallelSequences?: number;
  contextSize?: number;
  threads?: number;
  /** requests that may wait for one model's free sequence (default 64) */
  maxWaiting?: number;
  /** requests that may wait for one model to load (default 64) */
  maxLoadWaiters?: number;
  /** how long a load may wait for busy models to free memory (default 60 s) */
  memoryWaitMs?: number;
  gpu?: false | 'auto';
  onLoad?(model: string, coldStartSeconds: number): void;
  onUnload?(model: string, reason: UnloadReason): void;
  /** test seam: runs right before a model's load starts */
  beforeLoad?(model: string): Promise<void>;
}

export type ModelState = 'unloaded' | 'loading' | 'loaded' | 'unloading';

interface Entry {
  config: LocalModelConfig;
  engineOptions: EngineOptions;
  estimateBytes: number;
  engine: LocalModelEngine | undefined;
  loading: Promise<LocalModelEngine> | undefined;
  unloading: Promise<void> | undefined;
  /** requests holding a lease (running, waiting for a sequence, or waiting for the load) */
  users: number;
  loadWaiters: number;
  lastUsed: number;
  /** counted in usedBytes (loading or loaded) */
  reserved: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

export interface Lease {
  engine: LocalModelEngine;
  release(): void;
}

export interface ModelStatus {
  name: string;
  state: ModelState;
  estimateBytes: number;
  stats: EngineStats | undefined;
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: RegistryOptions;
  private readonly budget: number;
  private usedBytes = 0;
  private memoryWaiters = new Set<() => void>();
  private closed = false;
  private useClock = 0; // a counter, not the wall clock: LRU only needs an order

  private constructor(opts: RegistryOptions, summaries: GgufSummary[]) {
    this.opts = opts;
    this.budget = opts.memoryBudgetBytes ?? Number.POSITIVE_INFINITY;
    opts.models.forEach((config, i) => {
      const summary = summaries[i]!;
      const contextSize = config.contextSize ?? opts.contextSize ?? Math.min(modelShape(summary).trainContext ?? 2048, 4096);
      const parallelSequences = config.parallelSequences ?? opts.parallelSequences ?? 4;
      const engineOptions: EngineOptions = { contextSize, parallelSequences, maxWaiting: opts.maxWaiting ?? 64 };
      if (opts.threads !== undefined) engineOptions.threads = opts.threads;
      this.entries.set(config.name, {
        config,
        engineOptions,
        estimateBytes: estimateModelBytes(summary, contextSize, parallelSequences),
        engine: undefined,
        loading: undefined,
        unloading: undefined,
        users: 0,
        loadWaiters: 0,
        lastUsed: 0,
        reserved: false,
        idleTimer: undefined,
      });
    });
  }

  /** Validates every configured GGUF up front, so a bad path or file fails at startup. */
  static async create(opts: RegistryOptions): Promise<ModelRegistry> {
    if (opts.models.length === 0) throw new Error('local engine: no models configured');
    const names = new Set<string>();
    for (const m of opts.models) {
      if (!m.name) throw new Error(`local engine: model at ${m.path} has no name`);
      if (names.has(m.name)) throw new Error(`local engine: model name '${m.name}' is configured twice`);
      names.add(m.name);
    }
    const summaries: GgufSummary[] = [];
    for (const m of opts.models) {
      try {
        summaries.push(await validateGgufFile(m.path));
      } catch (err) {
        throw new Error(`local engine: model '${m.name}' (${m.path}): ${(err as Error).message}`);
      }
    }
    const registry = new ModelRegistry(opts, summaries);
    for (const e of registry.entries.values()) {
      if (e.estimateBytes > registry.budget) {
        throw new Error(`local engine: model '${e.config.name}' needs about ${e.estimateBytes} bytes, more than the memory budget of ${registry.budget}`);
      }
    }
    return registry;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  status(): ModelStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.config.name,
      state: stateOf(e),
      estimateBytes: e.estimateBytes,
      stats: e.engine?.stats(),
    }));
  }

  /** The sequences of every loaded model (GET /slots). */
  slots(): { model: string; slots: ReturnType<LocalModelEngine['slotsView']> }[] {
    return [...this.entries.values()].filter((e) => e.engine).map((e) => ({ model: e.config.name, slots: e.engine!.slotsView() }));
  }

  /** requests waiting for `name` to load */
  loadWaiters(name: string): number {
    return this.entries.get(name)?.loadWaiters ?? 0;
  }

  get memoryUsedBytes(): number {
    return this.usedBytes;
  }

  /** Gets the model's engine, loading it if needed. The caller must release() the lease once. */
  async acquire(name: string): Promise<Lease> {
    const e = this.entries.get(name);
    if (!e) throw notFound(`the model '${name}' does not exist here; served models: ${this.names().join(', ')}`, 'model');
    if (this.closed) throw unavailable('the local engine is shutting down');
    e.users++;
    e.lastUsed = ++this.useClock;
    clearTimeout(e.idleTimer);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release(e);
    };
    try {
      const engine = e.engine ?? (await this.waitForLoad(e));
      return { engine, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async waitForLoad(e: Entry): Promise<LocalModelEngine> {
    const max = this.opts.maxLoadWaiters ?? 64;
    if (e.loadWaiters >= max) {
      throw unavailable(`the model '${e.config.name}' is loading and ${e.loadWaiters} requests already wait for it`);
    }
    e.loadWaiters++;
    try {
      if (e.unloading) await e.unloading;
      if (e.engine) return e.engine;
      e.loading ??= this.load(e).finally(() => {
        e.loading = undefined;
      });
      return await e.loading;
    } finally {
      e.loadWaiters--;
    }
  }

  private async load(e: Entry): Promise<LocalModelEngine> {
    const start = performance.now();
    await this.reserveMemory(e);
    try {
      await this.opts.beforeLoad?.(e.config.name);
      if (this.closed) throw unavailable('the local engine is shutting down');
      // Validate again right before llama.cpp reads the file: it may have changed since startup.
      await validateGgufFile(e.config.path);
      const llama = await getLlamaRuntime({ gpu: this.opts.gpu ?? false });
      const engine = await LocalModelEngine.load(llama, e.config.path, e.engineOptions);
      e.engine = engine;
      this.opts.onLoad?.(e.config.name, (performance.now() - start) / 1000);
      return engine;
    } catch (err) {
      this.unreserve(e);
      if (err instanceof ApiError) throw err;
      const what = err instanceof GgufError ? 'failed validation' : 'failed to load';
      throw new ApiError(500, `the model '${e.config.name}' ${what}: ${(err as Error).message}`, { type: 'model_load_error' });
    }
  }

  /** Makes room for `e` in the budget: unloads idle models, least recently used first, or waits. */
  private async reserveMemory(e: Entry): Promise<void> {
    const deadline = performance.now() + (this.opts.memoryWaitMs ?? 60_000);
    for (;;) {
      while (this.usedBytes + e.estimateBytes > this.budget) {
        const victim = this.leastRecentlyUsedIdle(e);
        if (!victim) break;
        await this.unload(victim, 'memory');
      }
      if (this.usedBytes + e.estimateBytes <= this.budget) {
        this.usedBytes += e.estimateBytes;
        e.reserved = true;
        return;
      }
      if (this.closed) throw unavailable('the local engine is shutting down');
      await this.memoryChange(deadline, e);
    }
  }

  private leastRecentlyUsedIdle(except: Entry): Entry | undefined {
    let victim: Entry | undefined;
    for (const c of this.entries.values()) {
      if (c === except || !c.engine || c.unloading || c.users > 0) continue;
      if (!victim || c.lastUsed < victim.lastUsed) victim = c;
    }
    return victim;
  }

  private memoryChange(deadline: number, e: Entry): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0) {
      return Promise.reject(unavailable(
        `the model '${e.config.name}' needs ${e.estimateBytes} bytes; ${this.usedBytes} of the ${this.budget}-byte memory budget are held by models that stay busy`,
      ));
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.memoryWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, left);
      this.memoryWaiters.add(wake);
    });
  }

  private notifyMemory(): void {
    for (const wake of [...this.memoryWaiters]) wake();
  }

  private unreserve(e: Entry): void {
    if (!e.reserved) return;
    e.reserved = false;
    this.usedBytes -= e.estimateBytes;
    this.notifyMemory();
  }

  private release(e: Entry): void {
    e.users--;
    e.lastUsed = ++this.useClock;
    if (e.users > 0) return;
    this.notifyMemory(); // a load waiting for memory may now unload this model
    const idleMs = this.opts.idleTimeoutMs ?? 0;
    if (idleMs > 0 && e.engine && !this.closed) {
      e.idleTimer = setTimeout(() => {
        if (e.users === 0) void this.unload(e, 'idle');
      }, idleMs);
      e.idleTimer.unref();
    }
  }

  private unload(e: Entry, reason: UnloadReason): Promise<void> {
    if (e.unloading) return e.unloading;
    const engine = e.engine;
    if (!engine) return Promise.resolve();
    clearTimeout(e.idleTimer);
    e.engine = undefined;
    const unloading = engine
      .dispose()
      .catch((err: unknown) => {
        process.stderr.write(`local engine: unloading '${e.config.name}' failed: ${String(err)}\n`);
      })
      .finally(() => {
        e.unloading = undefined;
        this.unreserve(e);
        this.opts.onUnload?.(e.config.name, reason);
      });
    e.unloading = unloading;
    return unloading;
  }

  /** Unloads everything; requests still running are cancelled by the model's disposal. */
  async close(): Promise<void> {
    this.closed = true;
    this.notifyMemory();
    await Promise.allSettled([...this.entries.values()].map((e) => e.loading));
    await Promise.all([...this.entries.values()].map((e) => this.unload(e, 'shutdown')));
  }
}

function stateOf(e: Entry): ModelState {
  if (e.engine) return 'loaded';
  if (e.unloading) return 'unloading';
  if (e.loading) return 'loading';
  return 'unloaded';
}
