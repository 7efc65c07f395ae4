// Data movement kernels: strided copy (new or in place), row gather / scatter-add by int32 index,
// and one-hot rows.

import type { DType, Storage, TypedArray, View } from '../backend.js';
import { allocArray, dataOf, requireSameDtype } from './storage.js';
import { checkView, coalesceViews, contiguousStrides, numel } from './strided.js';

/**
 * D[od + idx·sd] = S[os + idx·ss] over a coalesced `shape` (row-major odometer, inner dim as a
 * plain loop; contiguous rows of both go through TypedArray.set when long).
 */
function stridedCopy(
  D: TypedArray,
  od: number,
  sd: readonly number[],
  S: TypedArray,
  os: number,
  ss: readonly number[],
  shape: readonly number[],
): void {
  const r = shape.length;
  if (r === 0) {
    D[od] = S[os];
    return;
  }
  const L = shape[r - 1];
  const td = sd[r - 1];
  const ts = ss[r - 1];
  const rows = numel(shape) / L;
  const idx = new Int32Array(r);
  let pd = od;
  let ps = os;
  for (let row = 0; row < rows; row++) {
    if (td === 1 && ts === 1) {
      if (L >= 64) D.set(S.subarray(ps, ps + L), pd);
      else for (let j = 0; j < L; j++) D[pd + j] = S[ps + j];
    } else if (td === 1 && ts === 0) {
      D.fill(S[ps], pd, pd + L);
    } else {
      for (let j = 0, x = pd, y = ps; j < L; j++, x += td, y += ts) D[x] = S[y];
    }
    for (let d = r - 2; d >= 0; d--) {
      pd += sd[d];
      ps += ss[d];
      if (++idx[d] < shape[d]) break;
      pd -= sd[d] * shape[d];
      ps -= ss[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export function copy(src: Storage, sv: View, shape: number[]): TypedArray {
  const S = dataOf(src, 'copy');
  checkView(sv, shape, src.size, 'copy', 'src');
  const out = allocArray(src.dtype, numel(shape));
  if (out.length === 0) return out;
  const c = coalesceViews(shape, [contiguousStrides(shape), sv.strides]);
  stridedCopy(out, 0, c.strides[0], S, sv.offset, c.strides[1], c.shape);
  return out;
}

export function copyInto(dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): void {
  const D = dataOf(dst, 'copyInto');
  const S = dataOf(src, 'copyInto');
  requireSameDtype('copyInto', ['dst', dst], ['src', src]);
  checkView(dv, shape, dst.size, 'copyInto', 'dst');
  checkView(sv, shape, src.size, 'copyInto', 'src');
  if (numel(shape) === 0) return;
  if (D === S) {
    // Same storage: read every source element before writing any, so overlap cannot corrupt it.
    const tmp = copy(src, sv, shape);
    const c = coalesceViews(shape, [dv.strides, contiguousStrides(shape)]);
    stridedCopy(D, dv.offset, c.strides[0], tmp, 0, c.strides[1], c.shape);
  } else {
    const c = coalesceViews(shape, [dv.strides, sv.strides]);
    stridedCopy(D, dv.offset, c.strides[0], S, sv.offset, c.strides[1], c.shape);
  }
}

function checkRowIndex(i: number, m: number, N: number, op: string): void {
  if (!(i >= 0 && i < N)) throw new Error(`cpu ${op}: index ${i} at position ${m} is out of range [0, ${N})`);
}

/** out[m, :] = table[idx[m], :]. */
export function gather(table: Storage, N: number, D: number, idx: Storage): TypedArray {
  const T = dataOf(table, 'gather');
  const I = dataOf(idx, 'gather');
  const M = I.length;
  const out = allocArray(table.dtype, M * D);
  for (let m = 0; m < M; m++) {
    const row = I[m];
    checkRowIndex(row, m, N, 'gather');
    out.set(T.subarray(row * D, row * D + D), m * D);
  }
  return out;
}

/** out [N, D] = 0; out[idx[m], :] += src[m, :]. Accumulates in float64, rounds once. */
export function scatterAdd(src: Storage, M: number, D: number, idx: Storage, N: number): TypedArray {
  const S = dataOf(src, 'scatterAdd');
  const I = dataOf(idx, 'scatterAdd');
  for (let m = 0; m < M; m++) checkRowIndex(I[m], m, N, 'scatterAdd');
  if (src.dtype === 'int32') {
    const out = new Int32Array(N * D);
    for (let m = 0; m < M; m++) {
      const o = I[m] * D;
      for (let d = 0; d < D; d++) out[o + d] = (out[o + d] + S[m * D + d]) | 0;
    }
    return out;
  }
  const acc = new Float64Array(N * D);
  for (let m = 0; m < M; m++) {
    const o = I[m] * D;
    for (let d = 0; d < D; d++) acc[o + d] += S[m * D + d];
  }
  if (src.dtype === 'float64') return acc;
  const out = allocArray(src.dtype, N * D);
  out.set(acc);
  return out;
}

/** out [R, C]: 1 at (r, idx[r]) when 0 <= idx[r] < C, otherwise an all-zero row. */
export function oneHot(idx: Storage, R: number, C: number, dtype: DType): TypedArray {
  const I = dataOf(idx, 'oneHot');
  const out = allocArray(dtype, numel([R, C]));
  for (let r = 0; r < R; r++) {
    const c = I[r];
    if (c >= 0 && c < C) out[r * C + c] = 1;
  }
  return out;
}
