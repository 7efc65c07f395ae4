// Position kernels (reference loops): ranges made in place of uploaded position ids, and the
// rotary cos / sin tables of int32 positions. float64 is computed in float64.

import type { DType, Storage, TypedArray } from '../backend.js';
import { toInt32 } from './scalar.js';
import { allocArray, dataOf } from './storage.js';

/** y[i] = start + (i mod period) · step. */
export function arange(size: number, dtype: DType, start: number, step: number, period: number): TypedArray {
  const y = allocArray(dtype, size);
  for (let i = 0; i < size; i++) {
    const v = start + (i % period) * step;
    y[i] = dtype === 'int32' ? toInt32(v) : v;
  }
  return y;
}

/** out[p, 2i] = out[p, 2i + 1] = cos or sin of positions[p] · invFreq[i] (angle in float64). */
export function rotaryTable(positions: Storage, n: number, invFreq: readonly number[], fn: 'cos' | 'sin', dtype: DType): TypedArray {
  const pos = dataOf(positions, 'rotaryTable');
  const rd = 2 * invFreq.length;
  const f = fn === 'cos' ? Math.cos : Math.sin;
  const y = allocArray(dtype, n * rd);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < invFreq.length; i++) {
      const v = f(pos[p]! * invFreq[i]!);
      y[p * rd + 2 * i] = v;
      y[p * rd + 2 * i + 1] = v;
    }
  }
  return y;
}
