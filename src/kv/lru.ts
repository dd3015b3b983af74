// A bounded least-recently-used map. JavaScript's Map keeps insertion order, so re-inserting on
// access moves a key to the back and the front is always the eldest.

export class LruMap<K, V> {
  readonly capacity: number;
  private readonly map = new Map<K, V>();
  /** Called for each entry pushed out by capacity (not for explicit deletes). */
  onEvict?: (key: K, value: V) => void;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity must be >= 1, got ${capacity}`);
    this.capacity = Math.floor(capacity);
  }

  get size(): number {
    return this.map.size;
  }

  /** Reads and marks as recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Reads without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key); // a no-op when absent; re-inserting moves the key to the back
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const eldest = this.map.keys().next().value as K;
      const v = this.map.get(eldest) as V;
      this.map.delete(eldest);
      this.onEvict?.(eldest, v);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
