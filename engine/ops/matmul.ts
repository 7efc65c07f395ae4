// Batched matrix multiply with broadcast batch dims and transposed operands, and linear layers.

import { broadcastShapes, contiguousStrides } from '../shape.js';
import { Tensor, shapeStr } from '../tensor.js';
import { assertFloat, assertSameDtype, record, storages } from './record.js';

export interface MatmulOptions {
  /** Use a's last two dims transposed. */
  transA?: boolean;
  /** Use b's last two dims transposed. */
  transB?: boolean;
}

/** op(a) @ op(b): a [..., M, K] (or [..., K, M] with transA), b [..., K, N] (or [..., N, K]) → [..., M, N]. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [as, bs] = storages('matmul', a, b);
  assertFloat('matmul', a);
  assertSameDtype('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need at least 2 dims, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const M = transA ? a1 : a0;
  const K = transA ? a0 : a1;
  const Kb = transB ? b1 : b0;
  const N = transB ? b0 : b1;
  if (K !== Kb) {
    throw new Error(
      `matmul: inner dims differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''} (K=${K} vs ${Kb})`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes('matmul', aBatch, bBatch);
  const bstr = (own: readonly number[], mat: number) => {
    const cs = contiguousStrides(own).map((s) => s * mat);
    const off = batch.length - own.length;
    return batch.map((d, i) => (i < off || own[i - off] === 1 ? 0 : cs[i - off]!));
  };
  const out = a.backend.matmul(as!, bs!, {
    batch,
    aBatchStrides: bstr(aBatch, a0 * a1),
    bBatchStrides: bstr(bBatch, b0 * b1),
    M,
    K,
    N,
    transA,
    transB,
  });
  // C = A B with A = op(a), B = op(b): dA = g Bᵀ, dB = Aᵀ g; stored operands get the transposes back.
  return record('matmul', out, [...batch, M, N], [a, b], (g) => [
    transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB }),
    transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA }),
  ]);
}
