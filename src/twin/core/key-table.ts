// A hash table from 64-bit block keys to block ids, in one typed array (open addressing, linear
// probing). It replaces a Map<bigint, number>: a Map compares BigInt keys by following a pointer
// to each candidate key object, which made cache lookups the simulator's largest cost. Here each
// slot is [low half, high half, value, unused] side by side, so a probe touches one cache line
// (three parallel arrays cost three cache misses per probe once the table outgrows the cache).
// Deletion shifts the following entries back instead of leaving tombstones (Knuth's algorithm R),
// so probes stay short under the block manager's constant insert/evict churn.

const EMPTY = -1;
const STRIDE = 4; // int32s per slot
const halves = new DataView(new ArrayBuffer(8));

export class KeyTable {
  private slots: Int32Array;
  private mask: number; // slot-index mask
  size = 0;

  /** Sized for `maxEntries` live keys at a load factor of at most 1/2 (it grows past that). */
  constructor(maxEntries: number) {
    let cap = 16;
    while (cap < 2 * maxEntries) cap *= 2;
    this.mask = cap - 1;
    this.slots = emptySlots(cap);
  }

  /** The value stored for `key`, or -1. */
  get(key: bigint): number {
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    const s = this.slots;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const at = i * STRIDE;
      const v = s[at + 2]!;
      if (v === EMPTY || (s[at] === lo && s[at + 1] === hi)) return v;
    }
  }

  has(key: bigint): boolean {
    return this.get(key) !== EMPTY;
  }

  /** Stores `value` (>= 0) for a key that is not present. */
  insert(key: bigint, value: number): void {
    if (!this.insertIfAbsent(key, value)) throw new Error('key is already in the table');
  }

  /** Stores `value` (>= 0) for `key` unless the key is present; returns whether it stored it. One probe sequence. */
  insertIfAbsent(key: bigint, value: number): boolean {
    if (2 * (this.size + 1) > this.mask + 1) this.grow();
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    const s = this.slots;
    let i = lo & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const at = i * STRIDE;
      if (s[at + 2] === EMPTY) break;
      if (s[at] === lo && s[at + 1] === hi) return false;
    }
    const at = i * STRIDE;
    s[at] = lo;
    s[at + 1] = hi;
    s[at + 2] = value;
    this.size++;
    return true;
  }

  delete(key: bigint): void {
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    const s = this.slots;
    const mask = this.mask;
    let hole = lo & mask;
    for (; ; hole = (hole + 1) & mask) {
      const at = hole * STRIDE;
      if (s[at + 2] === EMPTY) return;
      if (s[at] === lo && s[at + 1] === hi) break;
    }
    this.size--;
    // Close the hole: an entry further along the run moves back into it unless its home slot lies
    // cyclically in (hole, j], where a lookup starting at home would never pass the hole.
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const at = j * STRIDE;
      if (s[at + 2] === EMPTY) break;
      const home = s[at]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      const to = hole * STRIDE;
      s[to] = s[at]!;
      s[to + 1] = s[at + 1]!;
      s[to + 2] = s[at + 2]!;
      hole = j;
    }
    s[hole * STRIDE + 2] = EMPTY;
  }

  /** Doubles the capacity and re-inserts every entry. */
  private grow(): void {
    const old = this.slots;
    const cap = 2 * (this.mask + 1);
    const s = (this.slots = emptySlots(cap));
    this.mask = cap - 1;
    for (let j = 0; j < old.length; j += STRIDE) {
      if (old[j + 2] === EMPTY) continue;
      let i = old[j]! & this.mask;
      while (s[i * STRIDE + 2] !== EMPTY) i = (i + 1) & this.mask;
      s.set(old.subarray(j, j + 3), i * STRIDE);
    }
  }
}

function emptySlots(cap: number): Int32Array {
  const s = new Int32Array(cap * STRIDE);
  for (let at = 2; at < s.length; at += STRIDE) s[at] = EMPTY;
  return s;
}
