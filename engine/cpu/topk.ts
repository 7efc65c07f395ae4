// Row top-k of x [R, C]: the k largest values of each row, best first, with their column indices.
// Order: descending value, ties to the lower index; NaN ranks below every number (-Infinity
// included), NaNs among themselves by index — so a NaN appears in a row's top k only when the row
// has fewer than k non-NaN values (models/generate/topk.ts's host TopK admits no NaN: the same
// selection for its non-NaN part). Values are copied, never recomputed (their bits are the input's).

import type { Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';

/** a ranks before b in the top-k order (values va, vb at indices ia, ib). */
export function ranksBefore(va: number, ia: number, vb: number, ib: number): boolean {
  const an = va !== va;
  const bn = vb !== vb;
  if (an || bn) return an && bn ? ia < ib : bn;
  return va > vb || (va === vb && ia < ib);
}

/** [values [R, k] (x's dtype), indices int32 [R, k]]. */
export function topk(x: Storage, R: number, C: number, k: number): [TypedArray, Int32Array] {
  const X = dataOf(x, 'topk'); // arguments checked by the op table (CHECK.topk)
  const values = allocArray(x.dtype, R * k);
  const indices = new Int32Array(R * k);
  const keptV = new Float64Array(k);
  const keptI = new Int32Array(k);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let n = 0;
    // columns in ascending order: an insertion only moves past strictly worse entries
    for (let c = 0; c < C; c++) {
      const v = X[o + c]!;
      if (n === k && !ranksBefore(v, c, keptV[k - 1]!, keptI[k - 1]!)) continue;
      let j = n < k ? n++ : k - 1;
      while (j > 0 && ranksBefore(v, c, keptV[j - 1]!, keptI[j - 1]!)) {
        keptV[j] = keptV[j - 1]!;
        keptI[j] = keptI[j - 1]!;
        j--;
      }
      keptV[j] = v;
      keptI[j] = c;
    }
    for (let j = 0; j < k; j++) {
      values[r * k + j] = keptV[j]!;
      indices[r * k + j] = keptI[j]!;
    }
  }
  return [values, indices];
}
