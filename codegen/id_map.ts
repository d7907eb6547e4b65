/**
 * Values by type id: a typed index into a dense list. Assigning ids at
 * random into a plain array turns it into a slow dictionary, and filling
 * one with a slot per id first costs more than the lookups it serves.
 */
export class IdMap<T> {
  private index: Int32Array;
  private readonly list: T[] = [];
  constructor(size: number) {
    this.index = new Int32Array(Math.max(size, 16));
  }
  get(id: number): T | undefined {
    const i = id >= 0 && id < this.index.length ? this.index[id]! : 0;
    return i === 0 ? undefined : this.list[i - 1];
  }
  set(id: number, v: T): void {
    if (id >= this.index.length) {
      let n = this.index.length * 2;
      while (n <= id) n *= 2;
      const next = new Int32Array(n);
      next.set(this.index);
      this.index = next;
    }
    const i = this.index[id]!;
    if (i !== 0) this.list[i - 1] = v;
    else this.index[id] = this.list.push(v);
  }
}
