// The gateway's admission queue (src/gateway/admission-queue.ts) on the virtual clock. While every
// endpoint is saturated a request waits here, first come first served, at most `size` of them and
// each at most `timeoutSeconds`; a full queue or a wait past the timeout sheds it (the client's
// 429). The cluster offers room to the oldest waiters when metrics are scraped (all, until one
// finds none) and when a request completes (one), as the live queue does at its poll and on a finish.

export interface AdmissionLimits {
  /** Waiting requests at most; 0 sheds at once whenever every endpoint is saturated. */
  size: number;
  timeoutSeconds: number;
}

interface Waiter<T> {
  item: T;
  deadline: number;
}

export class VirtualAdmissionQueue<T> {
  private waiters: Waiter<T>[] = [];
  private head = 0; // waiters before it have left
  private readonly limits: AdmissionLimits;

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  get timeoutSeconds(): number {
    return this.limits.timeoutSeconds;
  }

  get depth(): number {
    return this.waiters.length - this.head;
  }

  /** Queues `item`; false when the queue is full. Its deadline is `now + timeoutSeconds`. */
  offer(item: T, now: number): boolean {
    if (this.depth >= this.limits.size) return false;
    this.waiters.push({ item, deadline: now + this.limits.timeoutSeconds });
    return true;
  }

  /** Hands the oldest waiters to `admit`, in order, until it refuses one or `max` are taken. */
  drain(admit: (item: T) => boolean, max = Infinity): void {
    for (let taken = 0; taken < max && this.depth > 0; taken++) {
      if (!admit(this.waiters[this.head]!.item)) break;
      this.shift();
    }
  }

  /** Removes and returns the waiters whose deadline has come (all deadlines share one timeout, so they are the oldest). */
  expire(now: number): T[] {
    const out: T[] = [];
    while (this.depth > 0 && this.waiters[this.head]!.deadline <= now) out.push(this.shift());
    return out;
  }

  private shift(): T {
    const w = this.waiters[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    return w.item;
  }
}
