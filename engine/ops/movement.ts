// Data movement: reshape (shares storage), permute/transpose, expand, slice, pad, concat, flatten.

import type { Storage } from '../backend.js';
import { hasKernel } from '../op-table/fallback.js';
import { contiguousStrides, normalizeAxis, sameShape } from '../shape.js';
import { Tensor, shapeSize, shapeStr } from '../tensor.js';
import { attachNode, record, storages } from './record.js';
import { sum } from './reduce.js';

/** Same data, new shape (one dim may be -1). No copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  storages('reshape', x);
  const sh = [...shape];
  const unknown = sh.indexOf(-1);
  if (unknown !== sh.lastIndexOf(-1)) throw new Error(`reshape: more than one -1 in ${shapeStr(shape)}`);
  if (unknown >= 0) {
    const known = shapeSize(sh.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} into ${shapeStr(shape)}`);
    sh[unknown] = x.size / known;
  }
  for (const d of sh) if (!Number.isInteger(d) || d < 0) throw new Error(`reshape: invalid target shape ${shapeStr(shape)}`);
  if (shapeSize(sh) !== x.size) throw new Error(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) into ${shapeStr(sh)}`);
  const out = x.shareStorage(sh, 'reshape');
  return attachNode(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 0): Tensor {
  const s = normalizeAxis('flatten', startDim, Math.max(1, x.rank));
  return reshape(x, [...x.shape.slice(0, s), shapeSize(x.shape.slice(s))]);
}

/** Reorder dims: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const [xs] = storages('permute', x);
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: ${shapeStr(perm)} is not a permutation of the ${x.rank} dims of ${shapeStr(x.shape)}`);
  }
  const cs = contiguousStrides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const out = x.backend.copy(xs!, { offset: 0, strides: perm.map((p) => cs[p]!) }, shape);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return record('permute', out, shape, [x], (g) => [permute(g, inv)]);
}

export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const a = normalizeAxis('transpose', d0, x.rank);
  const b = normalizeAxis('transpose', d1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcast x to `shape` (materialised). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const [xs] = storages('expand', x);
  if (sameShape(x.shape, shape)) return reshape(x, shape);
  const off = shape.length - x.rank;
  if (off < 0) throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to fewer dims ${shapeStr(shape)}`);
  const cs = contiguousStrides(x.shape);
  const strides = shape.map((d, i) => {
    if (i < off) return 0;
    const s = x.shape[i - off]!;
    if (s === d) return cs[i - off]!;
    if (s === 1) return 0;
    throw new Error(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  });
  const out = x.backend.copy(xs!, { offset: 0, strides }, [...shape]);
  return record('expand', out, shape, [x], (g) => [unbroadcast(g, x.shape)]);
}

/** Sum a broadcast cotangent back to `shape` (the one place where unbroadcasting happens). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const off = g.rank - shape.length;
  if (off < 0) throw new Error(`unbroadcast: cotangent ${shapeStr(g.shape)} has fewer dims than ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < off) axes.push(i);
    else if (shape[i - off] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - off] !== g.shape[i]) throw new Error(`unbroadcast: cotangent ${shapeStr(g.shape)} does not broadcast to ${shapeStr(shape)}`);
  }
  return reshape(sum(g, axes, true), shape);
}

/** x[starts[i] : ends[i]] on every dim (step 1). Missing dims are taken whole; negative indices count from the end. */
export function slice(x: Tensor, starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor {
  const [xs] = storages('slice', x);
  if (starts.length > x.rank) throw new Error(`slice: ${starts.length} starts for ${shapeStr(x.shape)}`);
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const n = x.shape[i]!;
    let s = starts[i] ?? 0;
    let e = ends?.[i] ?? n;
    if (s < 0) s += n;
    if (e < 0) e += n;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
      throw new Error(`slice: range [${starts[i]}, ${ends?.[i]}) is out of bounds for dim ${i} of ${shapeStr(x.shape)}`);
    }
    lo.push(s);
    hi.push(e);
  }
  const cs = contiguousStrides(x.shape);
  const shape = lo.map((s, i) => hi[i]! - s);
  const offset = lo.reduce((acc, s, i) => acc + s * cs[i]!, 0);
  const out = x.backend.copy(xs!, { offset, strides: cs }, shape);
  return record('slice', out, shape, [x], (g) => [pad(g, lo, hi.map((e, i) => x.shape[i]! - e))]);
}

/** Pad with `value`: before[i] elements before and after[i] after dim i. */
export function pad(x: Tensor, before: readonly number[], after: readonly number[], value = 0): Tensor {
  const [xs] = storages('pad', x);
  if (before.length !== x.rank || after.length !== x.rank || [...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`pad: need ${x.rank} non-negative before/after amounts for ${shapeStr(x.shape)}, got ${shapeStr(before)} / ${shapeStr(after)}`);
  }
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  let out: Storage;
  const b = x.backend;
  if (hasKernel(b, 'pad')) out = b.pad(xs!, [...x.shape], [...before], [...after], value);
  else {
    out = x.backend.full(shapeSize(shape), x.dtype, value);
    const os = contiguousStrides(shape);
    const offset = before.reduce((acc, p, i) => acc + p * os[i]!, 0);
    x.backend.copyInto(out, { offset, strides: os }, xs!, { offset: 0, strides: contiguousStrides(x.shape) }, [...x.shape]);
  }
  return record('pad', out, shape, [x], (g) => [slice(g, before, before.map((p, i) => p + x.shape[i]!))]);
}

/** Join along `axis`. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors');
  const ss = storages('concat', ...xs);
  const first = xs[0]!;
  const ax = normalizeAxis('concat', axis, first.rank);
  for (const t of xs) {
    if (t.dtype !== first.dtype || t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`concat: cannot join ${xs.map((q) => `${q.dtype}${shapeStr(q.shape)}`).join(', ')} along axis ${ax}`);
    }
  }
  const shape = [...first.shape];
  shape[ax] = xs.reduce((acc, t) => acc + t.shape[ax]!, 0);
  const out = first.backend.full(shapeSize(shape), first.dtype, 0);
  const os = contiguousStrides(shape);
  let at = 0;
  xs.forEach((t, i) => {
    if (t.size > 0) {
      first.backend.copyInto(out, { offset: at * os[ax]!, strides: os }, ss[i]!, { offset: 0, strides: contiguousStrides(t.shape) }, [...t.shape]);
    }
    at += t.shape[ax]!;
  });
  return record('concat', out, shape, xs, (g) => {
    let s = 0;
    return xs.map((t) => {
      const starts = new Array<number>(t.rank).fill(0);
      const ends = [...g.shape];
      starts[ax] = s;
      ends[ax] = s + t.shape[ax]!;
      s += t.shape[ax]!;
      return slice(g, starts, ends);
    });
  });
}

/** Insert a dim of size 1. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = axis < 0 ? axis + x.rank + 1 : axis;
  if (ax < 0 || ax > x.rank) throw new Error(`unsqueeze: axis ${axis} out of range for ${shapeStr(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, ax), 1, ...x.shape.slice(ax)]);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const ax = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[ax] !== 1) throw new Error(`squeeze: dim ${ax} of ${shapeStr(x.shape)} is not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== ax));
}
