// A radix tree shared by many tenants (workers), after SGLang's model gateway (cache_aware.rs):
// one tree over raw request units (characters of the text, or token ids), each node remembering
// which tenants inserted it and when. Match = the longest prefix each tenant holds; eviction
// removes a tenant's least recently used leaves until it fits its budget (bounded per tenant).

interface Node {
  label: Uint32Array; // the units on the edge into this node
  children: Map<number, Node>; // first unit of the child's label -> child
  parent: Node | null;
  tenants: Map<string, number>; // tenant -> last access time
}

export class RadixTree {
  private readonly root: Node = { label: new Uint32Array(0), children: new Map(), parent: null, tenants: new Map() };
  private readonly tenantSize = new Map<string, number>(); // units held per tenant
  private readonly maxUnitsPerTenant: number;

  constructor(maxUnitsPerTenant: number) {
    if (!(maxUnitsPerTenant >= 1)) throw new RangeError('maxUnitsPerTenant must be >= 1');
    this.maxUnitsPerTenant = maxUnitsPerTenant;
  }

  /** Units each tenant holds as a prefix of `seq` (tenants absent from the tree get 0). */
  matchLengths(seq: ArrayLike<number>): Map<string, number> {
    const out = new Map<string, number>();
    let node = this.root;
    let depth = 0;
    while (depth < seq.length) {
      const child = node.children.get(seq[depth]!);
      if (!child) break;
      const common = commonLength(child.label, seq, depth);
      depth += common;
      for (const t of child.tenants.keys()) out.set(t, depth); // deeper nodes overwrite shallower
      if (common < child.label.length) break;
      node = child;
    }
    return out;
  }

  insert(seq: ArrayLike<number>, tenant: string, now: number): void {
    let node = this.root;
    let depth = 0;
    while (depth < seq.length) {
      let child = node.children.get(seq[depth]!);
      if (!child) {
        child = { label: Uint32Array.from(slice(seq, depth, seq.length)), children: new Map(), parent: node, tenants: new Map() };
        node.children.set(seq[depth]!, child);
      }
      const common = commonLength(child.label, seq, depth);
      if (common < child.label.length) child = this.split(child, common);
      if (!child.tenants.has(tenant)) this.tenantSize.set(tenant, (this.tenantSize.get(tenant) ?? 0) + child.label.length);
      child.tenants.set(tenant, now);
      depth += common;
      node = child;
    }
    if ((this.tenantSize.get(tenant) ?? 0) > this.maxUnitsPerTenant) this.evict(tenant, Math.floor(this.maxUnitsPerTenant * 0.9));
  }

  sizeOf(tenant: string): number {
    return this.tenantSize.get(tenant) ?? 0;
  }

  removeTenant(tenant: string): void {
    this.evict(tenant, 0);
    this.tenantSize.delete(tenant);
  }

  /** Removes the tenant's least recently used leaves until it holds at most `target` units. */
  evict(tenant: string, target: number): void {
    const leaves: Node[] = [];
    const stack: Node[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      let tenantChild = false;
      for (const c of n.children.values()) {
        if (c.tenants.has(tenant)) {
          tenantChild = true;
          stack.push(c);
        }
      }
      if (!tenantChild && n !== this.root && n.tenants.has(tenant)) leaves.push(n);
    }
    const heap = leaves.sort((a, b) => a.tenants.get(tenant)! - b.tenants.get(tenant)!);
    let size = this.tenantSize.get(tenant) ?? 0;
    let i = 0;
    while (size > target && i < heap.length) {
      const leaf = heap[i++]!;
      leaf.tenants.delete(tenant);
      size -= leaf.label.length;
      const parent = leaf.parent!;
      if (leaf.tenants.size === 0 && leaf.children.size === 0) parent.children.delete(leaf.label[0]!);
      // The parent may now be a leaf for this tenant: insert it in LRU order.
      if (parent !== this.root && parent.tenants.has(tenant) && ![...parent.children.values()].some((c) => c.tenants.has(tenant))) {
        const t = parent.tenants.get(tenant)!;
        let j = i;
        while (j < heap.length && heap[j]!.tenants.get(tenant)! <= t) j++;
        heap.splice(j, 0, parent);
      }
    }
    this.tenantSize.set(tenant, size);
  }

  /** Splits `node`'s edge after `at` units; returns the new upper node. */
  private split(node: Node, at: number): Node {
    const parent = node.parent!;
    const upper: Node = { label: node.label.subarray(0, at), children: new Map(), parent, tenants: new Map(node.tenants) };
    node.label = node.label.subarray(at);
    node.parent = upper;
    upper.children.set(node.label[0]!, node);
    parent.children.set(upper.label[0]!, upper);
    return upper;
  }
}

function commonLength(label: Uint32Array, seq: ArrayLike<number>, from: number): number {
  const n = Math.min(label.length, seq.length - from);
  let i = 0;
  while (i < n && label[i] === seq[from + i]) i++;
  return i;
}

function slice(seq: ArrayLike<number>, from: number, to: number): number[] {
  const out = new Array<number>(to - from);
  for (let i = from; i < to; i++) out[i - from] = seq[i]!;
  return out;
}

/** Text as UTF-16 code units, the unit SGLang's tree compares (it uses chars). */
export function textUnits(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
