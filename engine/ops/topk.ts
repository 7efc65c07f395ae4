// Row top-k selection on the device (decoding: greedy and beam candidates without reading the
// log-probs back). Not differentiable: the outputs never join the tape.

import { Tensor, shapeStr } from '../tensor.js';
import { assertFloat, storages } from './record.js';

/**
 * The k largest entries of each row of x [R, C]: { values [R, k] (x's dtype, x's values exactly),
 * indices int32 [R, k] }, best first. Ties go to the lower index. NaN policy: NaN ranks below every
 * number (-Infinity included) and NaNs among themselves by index, so a row shows a NaN only when it
 * has fewer than k non-NaN entries. k = C sorts each row.
 */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  const [xs] = storages('topk', x);
  assertFloat('topk', x);
  if (x.rank !== 2) throw new Error(`topk: x must be 2-D [rows, columns], got ${shapeStr(x.shape)}`);
  const [R, C] = x.shape as [number, number];
  if (!Number.isInteger(k) || k < 1 || k > C) {
    throw new Error(`topk: k must be an integer in [1, ${C}] for x ${shapeStr(x.shape)}, got ${k}`);
  }
  const [vs, is] = x.backend.topk(xs!, R, C, k);
  return { values: new Tensor(vs, [R, k], x.backend), indices: new Tensor(is, [R, k], x.backend) };
}
