// An open-addressing hash table keyed by unsigned 64-bit block keys, storing one 32-bit word per
// key. Built for the precise index's hot path: V8's Map hashes and compares BigInt keys through
// pointers, so a 2,000-block lookup was cache-miss bound; here a key and its word sit side by side
// in one typed array (3 words per entry: low half, high half, value). Linear probing, tombstones,
// doubling when 1/2 full. The value word is opaque to the table, except that 0 means "empty".

const EMPTY = 0;
const TOMBSTONE = 0xffffffff;

export class U64Table {
  private slots: Uint32Array; // [lo, hi, value] per entry; value EMPTY = free, TOMBSTONE = deleted
  private mask: number;
  private used = 0; // live + tombstones
  size = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
  }

  /** The value word of `key`, or 0 when absent. */
  get(key: bigint): number {
    const i = this.find(key);
    return i < 0 ? EMPTY : this.slots[i + 2]!;
  }

  /** Sets a non-zero, non-0xffffffff value word. */
  set(key: bigint, value: number): void {
    if (value === EMPTY || value === TOMBSTONE) throw new RangeError('reserved value');
    this.split(key);
    const lo = this.lo;
    const hi = this.hi;
    let p = this.hash(lo, hi);
    let firstFree = -1;
    for (;;) {
      const i = p * 3;
      const v = this.slots[i + 2]!;
      if (v === EMPTY) {
        const at = firstFree >= 0 ? firstFree : i;
        if (firstFree < 0) this.used++;
        this.slots[at] = lo;
        this.slots[at + 1] = hi;
        this.slots[at + 2] = value >>> 0;
        this.size++;
        if (this.used * 2 > this.mask + 1) this.rehash();
        return;
      }
      if (v === TOMBSTONE) {
        if (firstFree < 0) firstFree = i;
      } else if (this.slots[i] === lo && this.slots[i + 1] === hi) {
        this.slots[i + 2] = value >>> 0;
        return;
      }
      p = (p + 1) & this.mask;
    }
  }

  delete(key: bigint): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    this.slots[i + 2] = TOMBSTONE;
    this.size--;
    return true;
  }

  clear(): void {
    this.slots.fill(0);
    this.used = 0;
    this.size = 0;
  }

  /** Every (key, value); allocates a BigInt per key, for rare whole-table passes. */
  *entries(): IterableIterator<[bigint, number]> {
    const s = this.slots;
    for (let i = 0; i < s.length; i += 3) {
      const v = s[i + 2]!;
      if (v !== EMPTY && v !== TOMBSTONE) yield [(BigInt(s[i + 1]!) << 32n) | BigInt(s[i]!), v];
    }
  }

  private lo = 0;
  private hi = 0;

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

  /** Index of the key's entry in `slots`, or -1. */
  private find(key: bigint): number {
    this.split(key);
    const lo = this.lo;
    const hi = this.hi;
    let p = this.hash(lo, hi);
    for (;;) {
      const i = p * 3;
      const v = this.slots[i + 2]!;
      if (v === EMPTY) return -1;
      if (v !== TOMBSTONE && this.slots[i] === lo && this.slots[i + 1] === hi) return i;
      p = (p + 1) & this.mask;
    }
  }

  private rehash(): void {
    const old = this.slots;
    let cap = this.mask + 1;
    if (this.size * 2 > cap / 2) cap *= 2; // grow; otherwise just sweep tombstones
    this.slots = new Uint32Array(cap * 3);
    this.mask = cap - 1;
    this.used = 0;
    this.size = 0;
    for (let i = 0; i < old.length; i += 3) {
      const v = old[i + 2]!;
      if (v === EMPTY || v === TOMBSTONE) continue;
      let p = this.hash(old[i]!, old[i + 1]!);
      while (this.slots[p * 3 + 2] !== EMPTY) p = (p + 1) & this.mask;
      const j = p * 3;
      this.slots[j] = old[i]!;
      this.slots[j + 1] = old[i + 1]!;
      this.slots[j + 2] = v;
      this.used++;
      this.size++;
    }
  }
}
