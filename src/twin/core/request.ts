// One request's state inside the twin core. The block manager sees it as a CacheSequence.
import type { CacheSequence } from './block-manager.ts';
import type { TwinRequestObserver } from './types.ts';

export type RequestStatus = 'waiting' | 'running' | 'held' | 'finished';

export interface CoreRequest extends CacheSequence {
  readonly id: string;
  readonly observer: TwinRequestObserver;
  readonly arrivalTime: number;
  readonly promptLength: number;
  readonly maxTokens: number;
  /** Seeds the deterministic filler tokens. */
  readonly seed: number;
  /** Prefill role: keep blocks after finishing until release(). */
  readonly holdBlocksAfterFinish: boolean;
  /** Decode role: the prompt's KV arrives by transfer (cleared if preempted: then it is recomputed). */
  promptKvTransferred: boolean;
  status: RequestStatus;
  /** Tokens whose KV has been computed (or transferred). */
  numComputed: number;
  numOutput: number;
  /** Prompt tokens served from the prefix cache at first admission. */
  cachedPromptTokens: number;
  admitted: boolean;
}

/** FNV-1a of the request id: a stable per-request seed for filler tokens. */
export function seedOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A well-mixed 32-bit value from (seed, index): the request's index-th filler draw. */
export function fillerDraw(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
