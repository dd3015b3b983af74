// A hash table from 64-bit block keys to block ids, in typed arrays (open addressing, linear
// probing). It replaces a Map<bigint, number>: a Map compares BigInt keys by following a pointer
// to each candidate key object, which made cache lookups the simulator's largest cost; here the
// keys sit inline as two int32 halves, so a lookup touches one cache line.

const EMPTY = -1;
const DELETED = -2;
const halves = new DataView(new ArrayBuffer(8));

export class KeyTable {
  private lo: Int32Array;
  private hi: Int32Array;
  private val: Int32Array;
  private mask: number;
  private used = 0; // live entries + tombstones
  size = 0;

  /** Sized for `maxEntries` live keys with room for tombstones (load factor at most 1/4 when full). */
  constructor(maxEntries: number) {
    let cap = 16;
    while (cap < 4 * maxEntries) cap *= 2;
    this.mask = cap - 1;
    this.lo = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.val = new Int32Array(cap).fill(EMPTY);
  }

  /** The value stored for `key`, or -1. */
  get(key: bigint): number {
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const v = this.val[i]!;
      if (v === EMPTY) return EMPTY;
      if (v !== DELETED && this.lo[i] === lo && this.hi[i] === hi) return v;
    }
  }

  has(key: bigint): boolean {
    return this.get(key) !== EMPTY;
  }

  /** Stores `value` (>= 0) for a key that is not present. */
  insert(key: bigint, value: number): void {
    if (2 * (this.used + 1) > this.val.length) this.rehash(Math.max(this.val.length, 4 * (this.size + 1)));
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    let i = lo & this.mask;
    while (this.val[i]! >= 0) i = (i + 1) & this.mask;
    if (this.val[i] === EMPTY) this.used++;
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.val[i] = value;
    this.size++;
  }

  delete(key: bigint): void {
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const v = this.val[i]!;
      if (v === EMPTY) return;
      if (v !== DELETED && this.lo[i] === lo && this.hi[i] === hi) {
        this.val[i] = DELETED;
        this.size--;
        return;
      }
    }
  }

  /** Rebuilds without tombstones (deletes leave them; without this, probes would lengthen forever). */
  private rehash(minCapacity: number): void {
    let cap = 16;
    while (cap < minCapacity) cap *= 2;
    const { lo, hi, val } = this;
    this.lo = new Int32Array(cap);
    this.hi = new Int32Array(cap);
    this.val = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.used = this.size;
    for (let j = 0; j < val.length; j++) {
      if (val[j]! < 0) continue;
      let i = lo[j]! & this.mask;
      while (this.val[i] !== EMPTY) i = (i + 1) & this.mask;
      this.lo[i] = lo[j]!;
      this.hi[i] = hi[j]!;
      this.val[i] = val[j]!;
    }
  }
}
