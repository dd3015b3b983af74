// One generated sequence (one `choice`) on the realtime twin: submits it to the core, turns token
// ids into text, applies stop strings (holding back text that may still become a stop string, as
// vLLM does when streaming) and reports deltas and the end to the response writer.
import type { FinishReason, TwinDisaggOptions } from '../core/types.ts';
import type { RealtimeTwin } from '../realtime.ts';

export type ChoiceFinish = 'stop' | 'length' | 'abort';

export interface ChoiceOutcome {
  index: number;
  text: string;
  completionTokens: number;
  finishReason: ChoiceFinish;
  /** The stop string that ended the choice, as vLLM's `stop_reason`. */
  stopReason: string | null;
  cachedPromptTokens: number;
  /** Seconds from arrival to the first token; undefined when none came. */
  ttftSeconds: number | undefined;
}

export interface ChoiceSpec {
  id: string;
  index: number;
  promptTokenIds: number[];
  maxTokens: number;
  ignoreEos: boolean;
  cacheSalt?: string;
  /** The LoRA adapter the request names (a served adapter's model name). */
  lora?: string;
  stop: string[];
  disagg?: TwinDisaggOptions;
}

export interface ChoiceHooks {
  decodeToken(tokenId: number): string;
  onDelta(index: number, text: string): void;
  onFirstToken?(ttftSeconds: number): void;
  onInterToken?(gapSeconds: number): void;
  onDone(outcome: ChoiceOutcome, e2eSeconds: number): void;
  /** The core refused the request (too large for the cache, queue full, shut down). */
  onRejected(message: string): void;
}

export class ChoiceRun {
  private readonly spec: ChoiceSpec;
  private readonly twin: RealtimeTwin;
  private readonly hooks: ChoiceHooks;
  private readonly holdBack: number;
  private arrival = 0;
  private lastTokenTime = 0;
  private ttft: number | undefined;
  private text = '';
  private emitted = 0;
  private tokens = 0;
  private done = false;
  private pendingStop: { string: string; time: number } | undefined;

  constructor(twin: RealtimeTwin, spec: ChoiceSpec, hooks: ChoiceHooks) {
    this.twin = twin;
    this.spec = spec;
    this.hooks = hooks;
    this.holdBack = spec.stop.length > 0 ? Math.max(...spec.stop.map((s) => s.length)) - 1 : 0;
  }

  get id(): string {
    return this.spec.id;
  }

  get index(): number {
    return this.spec.index;
  }

  start(): void {
    this.arrival = this.twin.now();
    const { id, promptTokenIds, maxTokens, ignoreEos, cacheSalt, lora, disagg } = this.spec;
    this.twin.add({ id, promptTokenIds, maxTokens, ignoreEos, cacheSalt, lora, ...disagg }, {
      onToken: (tokenId, time) => this.onToken(tokenId, time),
      onFinish: (reason, time, info) => this.onFinish(reason, time, info.cachedPromptTokens, info.message),
    });
  }

  /** Client went away or the server is closing. */
  abort(): void {
    if (!this.done) this.twin.abort(this.spec.id);
  }

  private onToken(tokenId: number, time: number): void {
    if (this.done) return;
    this.tokens++;
    if (this.tokens === 1) {
      this.ttft = time - this.arrival;
      this.hooks.onFirstToken?.(this.ttft);
    }
    else this.hooks.onInterToken?.(time - this.lastTokenTime);
    this.lastTokenTime = time;
    const before = this.text.length;
    this.text += this.hooks.decodeToken(tokenId);
    const stop = this.findStop(before);
    if (stop) {
      this.text = this.text.slice(0, stop.at);
      this.pendingStop = { string: stop.string, time };
      // The core answers an abort synchronously with onFinish('abort', cached tokens): finished there as 'stop'.
      this.twin.abort(this.spec.id);
      if (!this.done) this.finish('stop', stop.string, time, undefined);
      return;
    }
    this.flush(this.text.length - this.holdBack);
  }

  private findStop(before: number): { at: number; string: string } | undefined {
    let best: { at: number; string: string } | undefined;
    for (const s of this.spec.stop) {
      const at = this.text.indexOf(s, Math.max(0, before - s.length + 1));
      if (at !== -1 && (!best || at < best.at)) best = { at, string: s };
    }
    return best;
  }

  private flush(upTo: number): void {
    if (upTo > this.emitted) {
      this.hooks.onDelta(this.spec.index, this.text.slice(this.emitted, upTo));
      this.emitted = upTo;
    }
  }

  private onFinish(reason: FinishReason, time: number, cachedPromptTokens: number, message: string | undefined): void {
    if (this.done) return;
    if (this.pendingStop) {
      this.finish('stop', this.pendingStop.string, this.pendingStop.time, cachedPromptTokens);
      return;
    }
    if (reason === 'rejected') {
      this.done = true;
      this.hooks.onRejected(message ?? 'the simulated engine rejected the request');
      return;
    }
    this.finish(reason, null, time, cachedPromptTokens);
  }

  private finish(reason: ChoiceFinish, stopReason: string | null, time: number, cachedPromptTokens: number | undefined): void {
    this.done = true;
    this.flush(this.text.length);
    this.hooks.onDone({
      index: this.spec.index,
      text: this.text,
      completionTokens: this.tokens,
      finishReason: reason,
      stopReason,
      cachedPromptTokens: cachedPromptTokens ?? 0,
      ttftSeconds: this.ttft,
    }, time - this.arrival);
  }
}
