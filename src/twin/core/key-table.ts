// The prefix cache's index: 64-bit block key -> block id, for block ids below a fixed bound (each id
// in the table at most once). Open addressing with linear probing over a slot array that holds
// only block ids; each id's key sits in two int32 arrays indexed by the id. It replaces a
// Map<bigint, number>, whose lookups followed a pointer to each candidate BigInt and were the
// simulator's largest cost. For an 8B model on one H100 (26k blocks) slots and keys take 0.45 MB,
// small enough to stay in a core's L2 cache, where every probe used to miss. Deletion shifts the
// following entries back instead of leaving tombstones (Knuth's algorithm R), so probes stay short
// under the block manager's constant register/evict churn, and a block can be dropped by its id,
// without its key.

const EMPTY = -1;
const halves = new DataView(new ArrayBuffer(8));

export class KeyTable {
  /** Block id per slot, or EMPTY. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Key halves of each id while it is in the table. */
  private readonly keyLo: Int32Array;
  private readonly keyHi: Int32Array;
  private readonly present: Uint8Array;
  size = 0;

  /** Ids are integers in [0, maxIds); at most maxIds entries, so the load factor stays at most 1/2. */
  constructor(maxIds: number) {
    if (!Number.isInteger(maxIds) || maxIds <= 0) throw new RangeError(`maxIds must be a positive integer, got ${maxIds}`);
    let cap = 16;
    while (cap < 2 * maxIds) cap *= 2;
    this.mask = cap - 1;
    this.slots = new Int32Array(cap).fill(EMPTY);
    this.keyLo = new Int32Array(maxIds);
    this.keyHi = new Int32Array(maxIds);
    this.present = new Uint8Array(maxIds);
  }

  /** The id stored for `key`, or -1. */
  get(key: bigint): number {
    halves.setBigUint64(0, key, true);
    return this.find(halves.getInt32(0, true), halves.getInt32(4, true));
  }

  has(key: bigint): boolean {
    return this.get(key) !== EMPTY;
  }

  /** Stores `id` for a key that is not present. */
  insert(key: bigint, id: number): void {
    if (!this.insertIfAbsent(key, id)) throw new Error('key is already in the table');
  }

  /** Stores `id` (not in the table) for `key` unless the key is present; returns whether it stored it. One probe sequence. */
  insertIfAbsent(key: bigint, id: number): boolean {
    if (!(id >= 0 && id < this.present.length) || this.present[id]) throw new RangeError(`id ${id} is out of range or already in the table`);
    halves.setBigUint64(0, key, true);
    const lo = halves.getInt32(0, true);
    const hi = halves.getInt32(4, true);
    const { slots, keyLo, keyHi, mask } = this;
    let i = lo & mask;
    for (; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === EMPTY) break;
      if (keyLo[v] === lo && keyHi[v] === hi) return false;
    }
    slots[i] = id;
    keyLo[id] = lo;
    keyHi[id] = hi;
    this.present[id] = 1;
    this.size++;
    return true;
  }

  delete(key: bigint): void {
    halves.setBigUint64(0, key, true);
    const id = this.find(halves.getInt32(0, true), halves.getInt32(4, true));
    if (id !== EMPTY) this.deleteId(id);
  }

  /** Whether `id` is in the table (a block registered in the cache). */
  hasId(id: number): boolean {
    return this.present[id] === 1;
  }

  /** The key stored for `id` (which must be present). */
  keyOf(id: number): bigint {
    halves.setInt32(0, this.keyLo[id]!, true);
    halves.setInt32(4, this.keyHi[id]!, true);
    return halves.getBigUint64(0, true);
  }

  /** Removes `id` and its key, if present (no key needed: the table remembers it). */
  deleteId(id: number): void {
    if (!this.present[id]) return;
    const { slots, keyLo, mask } = this;
    let hole = keyLo[id]! & mask;
    while (slots[hole] !== id) hole = (hole + 1) & mask;
    this.present[id] = 0;
    this.size--;
    // Close the hole: an entry further along the run moves back into it unless its home slot lies
    // cyclically in (hole, j], where a lookup starting at home would never pass the hole.
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const v = slots[j]!;
      if (v === EMPTY) break;
      const home = keyLo[v]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      slots[hole] = v;
      hole = j;
    }
    slots[hole] = EMPTY;
  }

  private find(lo: number, hi: number): number {
    const { slots, keyLo, keyHi, mask } = this;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = slots[i]!;
      if (v === EMPTY || (keyLo[v] === lo && keyHi[v] === hi)) return v;
    }
  }
}
