// An open-addressing hash table keyed by unsigned 64-bit block keys, storing one 32-bit word per
// key. Built for the precise index's hot path: V8's Map hashes and compares BigInt keys through
// pointers, so a 2,000-block lookup was cache-miss bound; here a key and its word sit side by side
// in one typed array (3 words per entry: low half, high half, value). Linear probing with
// backward-shift deletion (no tombstones: the simulator stores and evicts millions of blocks, and
// tombstones lengthened every probe until the next sweep), doubling when half full. The value
// word is opaque to the table, except that 0 means "empty".
//
// Positions: `indexOf` returns an entry's position so a caller can read, overwrite or delete it
// without hashing the key again; a position is valid until the next insertion or deletion.

const EMPTY = 0;

export class U64Table {
  private slots: Uint32Array; // [lo, hi, value] per entry; value EMPTY = free
  private mask: number;
  size = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private lo = 0;
  private hi = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
  }

  /** The value word of `key`, or 0 when absent. */
  get(key: bigint): number {
    const i = this.indexOf(key);
    return i < 0 ? EMPTY : this.slots[i + 2]!;
  }

  /** Position of the key's entry (for valueAt / setValueAt / deleteAt), or -1. */
  indexOf(key: bigint): number {
    this.split(key);
    return this.probe();
  }

  valueAt(i: number): number {
    return this.slots[i + 2]!;
  }

  /** Overwrites the value word at a position from `indexOf` (non-zero). */
  setValueAt(i: number, value: number): void {
    if (value === EMPTY) throw new RangeError('reserved value');
    this.slots[i + 2] = value >>> 0;
  }

  /** Sets a non-zero value word. */
  set(key: bigint, value: number): void {
    this.setIfAbsent(key, value, true);
  }

  /**
   * Inserts `key` with `value` when absent and returns 0; when present, returns its current value
   * word and leaves it unchanged. One probe for the common "add unless known" pattern.
   */
  setIfAbsent(key: bigint, value: number, overwrite = false): number {
    if (value === EMPTY) throw new RangeError('reserved value');
    this.split(key);
    const lo = this.lo;
    const hi = this.hi;
    const s = this.slots;
    let p = this.hash(lo, hi);
    for (;;) {
      const i = p * 3;
      const v = s[i + 2]!;
      if (v === EMPTY) {
        s[i] = lo;
        s[i + 1] = hi;
        s[i + 2] = value >>> 0;
        this.size++;
        if (this.size * 2 > this.mask + 1) this.grow();
        return EMPTY;
      }
      if (s[i] === lo && s[i + 1] === hi) {
        if (overwrite) s[i + 2] = value >>> 0;
        return v;
      }
      p = (p + 1) & this.mask;
    }
  }

  delete(key: bigint): boolean {
    const i = this.indexOf(key);
    if (i < 0) return false;
    this.deleteAt(i);
    return true;
  }

  /** Deletes the entry at a position from `indexOf`, shifting later entries of its run back. */
  deleteAt(at: number): void {
    const s = this.slots;
    const mask = this.mask;
    let hole = at / 3;
    let p = hole;
    for (;;) {
      p = (p + 1) & mask;
      const j = p * 3;
      if (s[j + 2] === EMPTY) break;
      // An entry may fill the hole unless its home lies cyclically in (hole, p].
      const home = this.hash(s[j]!, s[j + 1]!);
      const stays = hole <= p ? hole < home && home <= p : hole < home || home <= p;
      if (stays) continue;
      const h = hole * 3;
      s[h] = s[j]!;
      s[h + 1] = s[j + 1]!;
      s[h + 2] = s[j + 2]!;
      hole = p;
    }
    s[hole * 3 + 2] = EMPTY;
    this.size--;
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }

  /** Every (key, value); allocates a BigInt per key, for rare whole-table passes. */
  *entries(): IterableIterator<[bigint, number]> {
    const s = this.slots;
    for (let i = 0; i < s.length; i += 3) {
      const v = s[i + 2]!;
      if (v !== EMPTY) yield [(BigInt(s[i + 1]!) << 32n) | BigInt(s[i]!), v];
    }
  }

  private split(key: bigint): void {
    this.scratch.setBigUint64(0, key, true);
    this.lo = this.scratch.getUint32(0, true);
    this.hi = this.scratch.getUint32(4, true);
  }

  private hash(lo: number, hi: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca77);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Position of the entry for the last split key, or -1. */
  private probe(): number {
    const lo = this.lo;
    const hi = this.hi;
    const s = this.slots;
    let p = this.hash(lo, hi);
    for (;;) {
      const i = p * 3;
      const v = s[i + 2]!;
      if (v === EMPTY) return -1;
      if (s[i] === lo && s[i + 1] === hi) return i;
      p = (p + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
    const s = this.slots;
    for (let i = 0; i < old.length; i += 3) {
      const v = old[i + 2]!;
      if (v === EMPTY) continue;
      let p = this.hash(old[i]!, old[i + 1]!);
      while (s[p * 3 + 2] !== EMPTY) p = (p + 1) & this.mask;
      const j = p * 3;
      s[j] = old[i]!;
      s[j + 1] = old[i + 1]!;
      s[j + 2] = v;
    }
  }
}
