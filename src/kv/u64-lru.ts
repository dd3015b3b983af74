// A bounded least-recently-used set of unsigned 64-bit keys, for the approximate index's
// per-endpoint LRUs. LruMap over BigInt keys spent most of an llm-d simulation in Map hashing
// (a delete and a set per recorded block); here the key -> node lookup is a U64Table and the
// recency list lives in typed arrays, so touching a key costs one probe and a few array writes.
// Node arrays grow by doubling up to the capacity, so a large capacity costs nothing until used.
import { U64Table } from './u64-table.ts';

const NONE = -1;

export class U64LruSet {
  readonly capacity: number;
  private readonly index = new U64Table(64); // key -> node + 1
  private keyOf: bigint[] = [];
  private prev = new Int32Array(16);
  private next = new Int32Array(16);
  private head = NONE; // eldest
  private tail = NONE; // newest
  private used = 0; // nodes handed out (never returned: an evicted node is reused at once)

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
    this.capacity = Math.floor(capacity);
  }

  get size(): number {
    return this.index.size;
  }

  has(key: bigint): boolean {
    return this.index.get(key) !== 0;
  }

  /**
   * Marks `key` as the most recently used, adding it if absent. When that overflows the capacity
   * the eldest key is dropped and returned (undefined otherwise).
   */
  touch(key: bigint): bigint | undefined {
    const at = this.index.indexOf(key);
    if (at >= 0) {
      this.moveToTail(this.index.valueAt(at) - 1);
      return undefined;
    }
    let node: number;
    let evicted: bigint | undefined;
    if (this.used < this.capacity) {
      node = this.used++;
      if (node === this.prev.length) this.growTo(Math.min(this.capacity, 2 * node));
    } else {
      node = this.head;
      evicted = this.keyOf[node]!;
      this.index.delete(evicted);
      this.unlink(node);
    }
    this.keyOf[node] = key;
    this.index.set(key, node + 1);
    this.append(node);
    return evicted;
  }

  /** Keys from the eldest to the newest. */
  *keys(): IterableIterator<bigint> {
    for (let n = this.head; n !== NONE; n = this.next[n]!) yield this.keyOf[n]!;
  }

  private growTo(n: number): void {
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    prev.set(this.prev);
    next.set(this.next);
    this.prev = prev;
    this.next = next;
  }

  private moveToTail(node: number): void {
    if (node === this.tail) return;
    this.unlink(node);
    this.append(node);
  }

  private unlink(node: number): void {
    const p = this.prev[node]!;
    const n = this.next[node]!;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }

  private append(node: number): void {
    this.prev[node] = this.tail;
    this.next[node] = NONE;
    if (this.tail === NONE) this.head = node;
    else this.next[this.tail] = node;
    this.tail = node;
  }
}
