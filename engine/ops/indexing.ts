// Index ops: row gather (embedding lookup) and its adjoint scatter-add, one-hot.

import { Tensor, shapeSize, shapeStr } from '../tensor.js';
import { assertInt, record, storages } from './record.js';

function checkIndices(op: string, idx: Tensor, n: number, tableShape: readonly number[]): void {
  const host = idx.hostInt;
  if (!host) return; // device-made indices: the kernel clamps, it cannot throw without a readback
  for (let i = 0; i < host.length; i++) {
    const v = host[i]!;
    if (v < 0 || v >= n) {
      throw new Error(`${op}: index ${v} at position ${i} is out of range [0, ${n}) for table ${shapeStr(tableShape)}`);
    }
  }
}

/** Rows of table [N, ...rest] picked by int32 idx [...]: out [...idx.shape, ...rest]. Gradient: scatter-add. */
export function gather(table: Tensor, idx: Tensor): Tensor {
  const [ts, is] = storages('gather', table, idx);
  assertInt('gather', idx);
  if (table.rank < 1) throw new Error(`gather: table must have at least 1 dim, got ${shapeStr(table.shape)}`);
  const N = table.shape[0]!;
  const rest = table.shape.slice(1);
  const D = shapeSize(rest);
  checkIndices('gather', idx, N, table.shape);
  const out = table.backend.gather(ts!, N, D, is!);
  return record('gather', out, [...idx.shape, ...rest], [table, idx], (g) => [scatterAdd(g, idx, N), null]);
}

/** out [N, ...rest] = 0, then out[idx[m]] += src[m] for src [...idx.shape, ...rest]. Gradient: gather. */
export function scatterAdd(src: Tensor, idx: Tensor, N: number): Tensor {
  const [ss, is] = storages('scatterAdd', src, idx);
  assertInt('scatterAdd', idx);
  const M = idx.size;
  const rest = src.shape.slice(idx.rank);
  if (src.shape.slice(0, idx.rank).some((d, i) => d !== idx.shape[i])) {
    throw new Error(`scatterAdd: src ${shapeStr(src.shape)} does not start with the index shape ${shapeStr(idx.shape)}`);
  }
  checkIndices('scatterAdd', idx, N, [N, ...rest]);
  const out = src.backend.scatterAdd(ss!, M, shapeSize(rest), is!, N);
  return record('scatterAdd', out, [N, ...rest], [src, idx], (g) => [gather(g, idx), null]);
}

/** [...idx.shape, C] with 1 at each index; rows whose index is outside [0, C) (e.g. -100) are all zero. */
export function oneHot(idx: Tensor, C: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const [is] = storages('oneHot', idx);
  assertInt('oneHot', idx);
  return record('oneHot', idx.backend.oneHot(is!, idx.size, C, dtype), [...idx.shape, C], [idx], null);
}
