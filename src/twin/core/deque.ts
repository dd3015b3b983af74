// A growable ring buffer: O(1) push/pop at both ends. The waiting queue needs pushFront for preempted requests.
export class Deque<T> {
  private buf: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  pushBack(item: T): void {
    if (this.count === this.buf.length) this.grow();
    this.buf[(this.head + this.count) % this.buf.length] = item;
    this.count++;
  }

  pushFront(item: T): void {
    if (this.count === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = item;
    this.count++;
  }

  peekFront(): T | undefined {
    return this.count === 0 ? undefined : this.buf[this.head];
  }

  popFront(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.count--;
    return item;
  }

  forEach(fn: (item: T) => void): void {
    for (let i = 0; i < this.count; i++) fn(this.buf[(this.head + i) % this.buf.length] as T);
  }

  /** Drops every item matching `pred`, keeping the order of the rest. O(length). */
  removeIf(pred: (item: T) => boolean): void {
    const kept: (T | undefined)[] = [];
    for (let i = 0; i < this.count; i++) {
      const item = this.buf[(this.head + i) % this.buf.length] as T;
      if (!pred(item)) kept.push(item);
    }
    this.buf = kept.concat(new Array(Math.max(16, kept.length)).fill(undefined));
    this.head = 0;
    this.count = kept.length;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(this.buf.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
