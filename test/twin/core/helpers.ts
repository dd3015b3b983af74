// Test helpers for the twin core: an injected step-time model that records batches, a recording
// observer, and a virtual-clock loop that drives a core to completion.
import type { StepBatch, StepTimeModel } from '../../../src/physics/types.ts';
import type { FinishReason, TwinCore, TwinRequestObserver } from '../../../src/twin/core/types.ts';

export interface RecordedStep {
  prefill: Array<{ tokens: number; cachedContext: number }>;
  decode: number[]; // context lengths
}

/** A linear step model (base + per prefill token + per decode sequence) that records each batch it prices. */
export function recordingModel(base = 0.01, perPrefillToken = 0, perDecode = 0): StepTimeModel & { steps: RecordedStep[] } {
  const steps: RecordedStep[] = [];
  return {
    steps,
    stepSeconds(batch: StepBatch): number {
      steps.push({ prefill: batch.prefill.map((w) => ({ ...w })), decode: batch.decode.map((w) => w.contextLength) });
      let t = base + perDecode * batch.decode.length;
      for (const w of batch.prefill) t += perPrefillToken * w.tokens;
      return t;
    },
  };
}

export interface Recorded {
  tokens: number[];
  times: number[];
  finish?: { reason: FinishReason; time: number; cachedPromptTokens: number; message?: string };
}

export function recorder(): TwinRequestObserver & Recorded {
  const r: Recorded = { tokens: [], times: [] };
  return Object.assign(r, {
    onToken(token: number, time: number) {
      r.tokens.push(token);
      r.times.push(time);
    },
    onFinish(reason: FinishReason, time: number, info: { cachedPromptTokens: number; message?: string }) {
      r.finish = { reason, time, ...info };
    },
  });
}

/** Runs the core on a virtual clock until it has no runnable work; returns the final time. */
export function runToIdle(core: TwinCore, start = 0, maxSteps = 100_000): number {
  let now = start;
  for (let i = 0; i < maxSteps; i++) {
    const plan = core.planStep(now);
    if (!plan) return now;
    now += plan.durationSeconds;
    core.commitStep(now);
  }
  throw new Error('core did not go idle');
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
