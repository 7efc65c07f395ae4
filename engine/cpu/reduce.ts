// Reductions (sum / max / min) over any set of axes, keepdim output. Sums accumulate in float64.
//
// Every output element folds its inputs in row-major input order (sum: 0 + x0 + x1 + ...; max/min:
// start from the first input), whatever path runs. Size-1 dims are dropped and adjacent dims that are
// both reduced or both kept are merged, so the common cases become [rows, cols] reducing cols (a row
// loop with a register accumulator) or [outer, rows, cols] reducing rows (column sums, e.g. bias
// gradients: whole rows added into a float64 accumulator row). Other patterns fall back to a map
// from each input element to its output element.

import type { ReduceOp, Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';
import { contiguousStrides, numel, viewOffsets } from './strided.js';

/** Fold x into the running max/min a (NaN, once seen, stays, as torch.max). */
function foldMinMax(a: number, v: number, isMax: boolean): number {
  if (v !== v || (isMax ? v > a : v < a)) {
    if (a === a) return v;
  }
  return a;
}

export function reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): TypedArray {
  const name = `reduce '${op}'`;
  const X = dataOf(x, name);
  if (op !== 'sum' && op !== 'max' && op !== 'min') throw new Error(`cpu reduce: unknown op '${String(op)}'`);
  // sizes, shape and axes: the op table's check (CHECK.reduce), run by the backend
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = numel(outShape);
  if (op !== 'sum' && outSize > 0 && X.length === 0) {
    throw new Error(`cpu ${name}: cannot take ${op} over an empty axis (shape [${shape.join(', ')}])`);
  }
  const out = allocArray(x.dtype, outSize);
  if (outSize === 0 || X.length === 0) return out; // empty sums are 0

  // Coalesce: drop size-1 dims, merge runs of reduced / kept dims.
  const sizes: number[] = [];
  const reduced: boolean[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const red = axes.includes(d);
    if (sizes.length > 0 && reduced[reduced.length - 1] === red) sizes[sizes.length - 1] *= shape[d];
    else {
      sizes.push(shape[d]);
      reduced.push(red);
    }
  }
  const isMax = op === 'max';
  const r = sizes.length;
  if (r === 0 || (r === 1 && !reduced[0])) {
    // nothing reduced: a copy (sum: 0 + x)
    if (op === 'sum') for (let i = 0; i < X.length; i++) out[i] = 0 + X[i];
    else out.set(X);
    return out;
  }
  if (reduced[r - 1] && (r === 1 || (r === 2 && !reduced[0]))) {
    // [rows, C] reducing C (or everything): one register accumulator per row
    const C = sizes[r - 1];
    const rows = outSize;
    for (let row = 0, o = 0; row < rows; row++, o += C) {
      if (op === 'sum') {
        let s = 0;
        for (let c = 0; c < C; c++) s += X[o + c];
        out[row] = s;
      } else {
        let m = X[o];
        for (let c = 1; c < C; c++) m = foldMinMax(m, X[o + c], isMax);
        out[row] = m;
      }
    }
    return out;
  }
  if (!reduced[r - 1] && (r === 2 || (r === 3 && !reduced[0]))) {
    // [outer, R, C] reducing R: add whole rows into a float64 row of C accumulators
    const C = sizes[r - 1];
    const R = sizes[r - 2];
    const outer = r === 3 ? sizes[0] : 1;
    const acc = x.dtype === 'float64' ? (out as Float64Array) : new Float64Array(outSize);
    for (let p = 0; p < outer; p++) {
      const ao = p * C;
      const xo = p * R * C;
      if (op === 'sum') {
        for (let row = 0; row < R; row++) {
          const o = xo + row * C;
          for (let c = 0; c < C; c++) acc[ao + c] += X[o + c];
        }
      } else {
        for (let c = 0; c < C; c++) acc[ao + c] = X[xo + c];
        for (let row = 1; row < R; row++) {
          const o = xo + row * C;
          for (let c = 0; c < C; c++) acc[ao + c] = foldMinMax(acc[ao + c], X[o + c], isMax);
        }
      }
    }
    if (acc !== out) out.set(acc); // float32 rounds; int32 sums wrap mod 2^32 (exact below 2^53)
    return out;
  }
  // General pattern: for every input element (row-major), the offset of the output element it folds into.
  const outStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const target = viewOffsets({ offset: 0, strides: outStrides }, shape);
  const acc = new Float64Array(outSize);
  if (op === 'sum') {
    for (let i = 0; i < X.length; i++) acc[target[i]] += X[i];
  } else {
    const seen = new Uint8Array(outSize);
    for (let i = 0; i < X.length; i++) {
      const t = target[i];
      if (!seen[t]) {
        seen[t] = 1;
        acc[t] = X[i];
      } else acc[t] = foldMinMax(acc[t], X[i], isMax);
    }
  }
  out.set(acc); // float32 rounds; int32 sums wrap mod 2^32 (exact below 2^53)
  return out;
}
