// Async scheduling: vLLM plans step N+1 while step N runs on the GPU (its default scheduler since
// late 2025; TensorRT-LLM's and SGLang's overlap schedulers work the same way), so a request that
// arrives during step N is first seen when step N+2 is planned: one step later than a synchronous
// scheduler would take it. Requests pass through two slots here on their way to the waiting queue.
export class ArrivalLag<T> {
  /** Arrived during the step in flight. */
  private arriving: T[] = [];
  /** Arrived during the step before it: schedulable from the next plan. */
  private next: T[] = [];

  get size(): number {
    return this.arriving.length + this.next.length;
  }

  /** Arrived during the step in flight (or while its end is being committed). */
  add(req: T): void {
    this.arriving.push(req);
  }

  /** Arrived between steps while work remains: the step about to be planned was planned already. */
  addBetweenSteps(req: T): void {
    this.next.push(req);
  }

  /** A step ended: the requests that may join the next plan (they arrived during the step before). */
  stepEnded(): T[] {
    const ready = this.next;
    this.next = this.arriving;
    this.arriving = [];
    return ready;
  }

  /** Everything, oldest first: with nothing else to run, no plan was overlapped and all may join. */
  drain(): T[] {
    const all = this.next.concat(this.arriving);
    this.next = [];
    this.arriving = [];
    return all;
  }

  /** Takes `req` out (an abort before it reached the queue); false when it is not here. */
  remove(req: T): boolean {
    for (const list of [this.arriving, this.next]) {
      const i = list.indexOf(req);
      if (i >= 0) {
        list.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  forEach(fn: (req: T) => void): void {
    this.next.forEach(fn);
    this.arriving.forEach(fn);
  }

  has(req: T): boolean {
    return this.arriving.includes(req) || this.next.includes(req);
  }
}
