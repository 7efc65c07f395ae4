// Host-side top-k selection over streamed (value, index) pairs: best first, ties keep the order in
// which they were pushed (push in ascending index order to break ties towards the lower index, as
// an argmax does).

export class TopK {
  readonly values: number[] = [];
  readonly indices: number[] = [];

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`TopK: k must be a positive integer, got ${k}`);
  }

  /** The smallest kept value once full (-Infinity before). */
  get threshold(): number {
    return this.values.length < this.k ? -Infinity : this.values[this.values.length - 1]!;
  }

  push(value: number, index: number): void {
    const n = this.values.length;
    if (!(value > this.threshold) && !(n < this.k && value === -Infinity)) {
      return; // NaN, or not better than the kept ones (ties go to the earlier push)
    }
    // insertion point: after every kept value >= value
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! >= value) lo = mid + 1;
      else hi = mid;
    }
    this.values.splice(lo, 0, value);
    this.indices.splice(lo, 0, index);
    if (this.values.length > this.k) {
      this.values.pop();
      this.indices.pop();
    }
  }
}

/** Index of the first maximum of data[offset, offset + n) (NaN never wins), or -1 when all are NaN. */
export function argmax(data: ArrayLike<number>, offset: number, n: number): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = data[offset + i]!;
    if (v > bv || (best < 0 && v === -Infinity)) {
      bv = v;
      best = i;
    }
  }
  return best;
}
