// Shape and strided-view helpers: element counts, bounds checks, and the row-major list of
// storage offsets a View visits (strides may be 0 for broadcast, or negative).

import type { View } from '../backend.js';

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major contiguous strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function checkShape(shape: readonly number[], op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`cpu ${op}: bad shape [${shape.join(', ')}]`);
  }
}

/** Throw unless the view over `shape` stays inside a storage of `size` elements. */
export function checkView(view: View, shape: readonly number[], size: number, op: string, what: string): void {
  checkShape(shape, op);
  if (view.strides.length !== shape.length) {
    throw new Error(
      `cpu ${op}: ${what} view has ${view.strides.length} strides for a rank-${shape.length} shape [${shape.join(', ')}]`,
    );
  }
  if (numel(shape) === 0) return;
  let lo = view.offset;
  let hi = view.offset;
  for (let j = 0; j < shape.length; j++) {
    const ext = (shape[j] - 1) * view.strides[j];
    if (ext > 0) hi += ext;
    else lo += ext;
  }
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi >= size) {
    throw new Error(
      `cpu ${op}: ${what} view (offset ${view.offset}, strides [${view.strides.join(', ')}]) over shape ` +
        `[${shape.join(', ')}] reaches elements ${lo}..${hi} of a storage of ${size}`,
    );
  }
}

/** Storage offset of every element of the view, in row-major order of `shape`. */
export function viewOffsets(view: View, shape: readonly number[]): Int32Array {
  const n = numel(shape);
  const out = new Int32Array(n);
  if (n === 0) return out;
  const r = shape.length;
  if (r === 0) {
    out[0] = view.offset;
    return out;
  }
  const strides = view.strides;
  const last = shape[r - 1];
  const lastStride = strides[r - 1];
  const idx = new Array<number>(r).fill(0);
  let base = view.offset;
  let p = 0;
  for (;;) {
    let o = base;
    for (let j = 0; j < last; j++) {
      out[p++] = o;
      o += lastStride;
    }
    // advance the odometer over the outer dims
    let d = r - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}

/** A shape and one stride list per operand after dropping size-1 dims and merging mergeable ones. */
export interface Coalesced {
  shape: number[];
  strides: number[][];
}

/**
 * Simplify the joint iteration of several views over one `shape` (row-major order preserved): size-1
 * dims are dropped, and dim d is folded into dim d+1 when every view has strides[d] ===
 * strides[d+1] * shape[d+1] (contiguous runs and zero-stride broadcasts both merge). A contiguous
 * view over any shape becomes a single dim of stride 1; a [C] bias broadcast over [R, C] stays
 * [R, C] with strides [0, 1]. The result has rank 0 only when the shape has one element.
 */
export function coalesceViews(shape: readonly number[], strides: readonly (readonly number[])[]): Coalesced {
  const k = strides.length;
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  let size = 0; // size of the dim being built (0: none yet), innermost first
  let cur: number[] = new Array<number>(k);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n === 1) continue;
    if (size !== 0) {
      let merge = true;
      for (let v = 0; v < k; v++) {
        if (strides[v][d] !== cur[v] * size) {
          merge = false;
          break;
        }
      }
      if (merge) {
        size *= n;
        continue;
      }
      outShape.push(size);
      for (let v = 0; v < k; v++) outStrides[v].push(cur[v]);
    }
    size = n;
    cur = strides.map((s) => s[d]);
  }
  if (size !== 0) {
    outShape.push(size);
    for (let v = 0; v < k; v++) outStrides[v].push(cur[v]);
  }
  outShape.reverse();
  for (const s of outStrides) s.reverse();
  return { shape: outShape, strides: outStrides };
}
