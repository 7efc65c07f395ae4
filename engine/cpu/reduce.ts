// Reductions (sum / max / min) over any set of axes, keepdim output. Sums accumulate in float64.

import type { ReduceOp, Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf, requireSize } from './storage.js';
import { checkShape, contiguousStrides, numel, viewOffsets } from './strided.js';

export function reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): TypedArray {
  const name = `reduce '${op}'`;
  const X = dataOf(x, name);
  if (op !== 'sum' && op !== 'max' && op !== 'min') throw new Error(`cpu reduce: unknown op '${String(op)}'`);
  checkShape(shape, name);
  requireSize(x, numel(shape), name, `x of shape [${shape.join(', ')}]`);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i];
    if (!Number.isInteger(a) || a < 0 || a >= shape.length || (i > 0 && a <= axes[i - 1])) {
      throw new Error(`cpu ${name}: axes [${axes.join(', ')}] must be sorted, unique and in [0, ${shape.length})`);
    }
  }
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = numel(outShape);
  if (op !== 'sum' && outSize > 0 && X.length === 0) {
    throw new Error(`cpu ${name}: cannot take ${op} over an empty axis (shape [${shape.join(', ')}])`);
  }
  // For every input element (row-major), the offset of the output element it folds into.
  const outStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const target = viewOffsets({ offset: 0, strides: outStrides }, shape);
  const acc = new Float64Array(outSize);
  if (op === 'sum') {
    for (let i = 0; i < X.length; i++) acc[target[i]] += X[i];
  } else {
    const seen = new Uint8Array(outSize);
    const isMax = op === 'max';
    for (let i = 0; i < X.length; i++) {
      const t = target[i];
      const v = X[i];
      const a = acc[t];
      if (!seen[t]) {
        seen[t] = 1;
        acc[t] = v;
      } else if (v !== v || (isMax ? v > a : v < a)) {
        if (a === a) acc[t] = v; // NaN, once seen, stays (as torch.max)
      }
    }
  }
  if (x.dtype === 'float64') return acc;
  const out = allocArray(x.dtype, outSize);
  out.set(acc); // float32 rounds; int32 sums wrap mod 2^32 (exact below 2^53)
  return out;
}
