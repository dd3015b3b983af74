// Which endpoints hold each block key, and in which tier: the precise index's table.
// Hot path layout (the simulator pushes millions of events through it, the router asks it about
// 2,000-block prompts across 64 endpoints): each endpoint is a small integer slot; a key's holders
// are one number `slot * 4 + tierBits` in the common single-holder case, or a bitset over slots
// (GPU words then CPU words) once shared, kept aside and named by the key's table word.
import { U64Table } from './u64-table.ts';

export const GPU = 1;
export const CPU = 2;
/** Marks a table word that names a shared bitset. */
const SHARED = 0x80000000;

/** One holder (slot * 4 + tier bits), or a bitset over slots: [gpu words..., cpu words...]. */
export type Holders = number | Uint32Array;

export class HolderTable {
  /** key -> a single holder (slot * 4 + tier bits) or SHARED | index into `sharedSets`. */
  private readonly words = new U64Table(1 << 16);
  private readonly sharedSets: (Uint32Array | undefined)[] = [];
  private readonly freeShared: number[] = [];

  get(key: bigint): Holders | undefined {
    const w = this.words.get(key);
    if (w === 0) return undefined;
    return w & SHARED ? this.sharedSets[w & ~SHARED]! : w;
  }

  /** Adds `tier` bits for `slot` on `key` (bitsets sized for `slots` slots); true when the slot did not hold it. */
  add(key: bigint, slot: number, tier: number, slots: number): boolean {
    // One probe: a new key becomes a single holder right away.
    const w = this.words.setIfAbsent(key, slot * 4 + tier);
    if (w === 0) return true;
    const v: Holders = w & SHARED ? this.sharedSets[w & ~SHARED]! : w;
    if (typeof v === 'number') {
      // A single-holder word is never SHARED, so it is overwritten in place (no shared set to drop).
      if (v >> 2 === slot) {
        if ((v | tier) !== v) this.words.set(key, v | tier);
        return false;
      }
      // A second holder: switch to a bitset over slots.
      const words = Math.max(1, Math.ceil(slots / 32));
      const set = new Uint32Array(2 * words);
      setBits(set, words, v >> 2, v & 3);
      setBits(set, words, slot, tier);
      this.putShared(key, set);
      return true;
    }
    let set = v;
    let words = set.length / 2;
    if (slot >>> 5 >= words) {
      const grown = new Uint32Array(2 * Math.ceil(slots / 32));
      const w2 = grown.length / 2;
      for (let i = 0; i < words; i++) {
        grown[i] = set[i]!;
        grown[w2 + i] = set[words + i]!;
      }
      set = grown;
      words = w2;
      this.putShared(key, set);
    }
    const added = bitsIn(set, words, slot) === 0;
    setBits(set, words, slot, tier);
    return added;
  }

  /** Clears `tier` bits of `slot` on `key`; returns the bits it has left there, or -1 when it did not hold the key. */
  remove(key: bigint, slot: number, tier: number): number {
    const at = this.words.indexOf(key);
    if (at < 0) return -1;
    const word = this.words.valueAt(at);
    if (!(word & SHARED)) {
      // A single holder: delete or overwrite the word where it lies (no shared set to drop).
      if (word >> 2 !== slot) return -1;
      const bits = word & 3 & ~tier;
      if (bits === 0) this.words.deleteAt(at);
      else if (bits !== (word & 3)) this.words.setValueAt(at, slot * 4 + bits);
      return bits;
    }
    const i = word & ~SHARED;
    const v = this.sharedSets[i]!;
    const words = v.length / 2;
    if (bitsIn(v, words, slot) === 0) return -1;
    const w = slot >>> 5;
    const m = 1 << (slot & 31);
    if (tier & GPU) v[w] = v[w]! & ~m;
    if (tier & CPU) v[words + w] = v[words + w]! & ~m;
    const bits = bitsIn(v, words, slot);
    if (bits === 0 && v.every((x) => x === 0)) {
      this.sharedSets[i] = undefined;
      this.freeShared.push(i);
      this.words.delete(key);
    }
    return bits;
  }

  /** Every key `slot` holds: a scan of the whole table, for clearing an endpoint whose keys are listed nowhere else. */
  keysOf(slot: number): bigint[] {
    const out: bigint[] = [];
    for (const [key] of this.words.entries()) if (bitsOf(this.get(key)!, slot)) out.push(key);
    return out;
  }

  private putShared(key: bigint, set: Uint32Array): void {
    const w = this.words.get(key);
    if (w & SHARED) {
      this.sharedSets[w & ~SHARED] = set;
      return;
    }
    const i = this.freeShared.pop() ?? this.sharedSets.length;
    this.sharedSets[i] = set;
    this.words.set(key, (SHARED | i) >>> 0);
  }
}

function setBits(set: Uint32Array, words: number, slot: number, tier: number): void {
  const w = slot >>> 5;
  const m = 1 << (slot & 31);
  if (tier & GPU) set[w] = set[w]! | m;
  if (tier & CPU) set[words + w] = set[words + w]! | m;
}

function bitsIn(set: Uint32Array, words: number, slot: number): number {
  const w = slot >>> 5;
  if (w >= words) return 0;
  const m = 1 << (slot & 31);
  return (set[w]! & m ? GPU : 0) | (set[words + w]! & m ? CPU : 0);
}

function bitsOf(v: Holders, slot: number): number {
  if (typeof v === 'number') return v >> 2 === slot ? v & 3 : 0;
  return bitsIn(v, v.length / 2, slot);
}
