// Batched matrix multiply with broadcast batch dims and transposed operands, and the same product
// with a bias row added in the backend's epilogue (matmulBias: a linear layer's x W + b).

import { broadcastShapes, contiguousStrides } from '../shape.js';
import { Tensor, shapeStr } from '../tensor.js';
import { reshape } from './movement.js';
import { assertFloat, assertSameDtype, record, storages } from './record.js';

export interface MatmulOptions {
  /** Use a's last two dims transposed. */
  transA?: boolean;
  /** Use b's last two dims transposed. */
  transB?: boolean;
}

/** op(a) @ op(b): a [..., M, K] (or [..., K, M] with transA), b [..., K, N] (or [..., N, K]) → [..., M, N]. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return matmulWithBias('matmul', a, b, null, opts);
}

/**
 * op(a) @ op(b) + bias, bias [N] added to every output row in the backend's epilogue: equal to
 * add(matmul(a, b), bias) in value and gradient (the bias gradient is g summed over the rows, by the
 * tape's unbroadcast), one backend call instead of two.
 */
export function matmulBias(a: Tensor, b: Tensor, bias: Tensor, opts: MatmulOptions = {}): Tensor {
  return matmulWithBias('matmulBias', a, b, bias, opts);
}

function matmulWithBias(op: string, a: Tensor, b: Tensor, bias: Tensor | null, opts: MatmulOptions): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [as, bs, biasStorage] = bias ? storages(op, a, b, bias) : storages(op, a, b);
  assertFloat(op, a);
  assertSameDtype(op, a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`${op}: operands need at least 2 dims, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const M = transA ? a1 : a0;
  const K = transA ? a0 : a1;
  const Kb = transB ? b1 : b0;
  const N = transB ? b0 : b1;
  if (K !== Kb) {
    throw new Error(
      `${op}: inner dims differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''} (K=${K} vs ${Kb})`,
    );
  }
  if (bias) {
    assertSameDtype(op, a, bias);
    if (bias.rank !== 1 || bias.shape[0] !== N) throw new Error(`${op}: bias must be [N] = [${N}] for ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}, got ${shapeStr(bias.shape)}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShapes(op, aBatch, bBatch);
  const bstr = (own: readonly number[], mat: number) => {
    const cs = contiguousStrides(own).map((s) => s * mat);
    const off = batch.length - own.length;
    return batch.map((d, i) => (i < off || own[i - off] === 1 ? 0 : cs[i - off]!));
  };
  const spec = { batch, aBatchStrides: bstr(aBatch, a0 * a1), bBatchStrides: bstr(bBatch, b0 * b1), M, K, N, transA, transB };
  const out = biasStorage ? a.backend.matmul(as!, bs!, spec, biasStorage) : a.backend.matmul(as!, bs!, spec);
  // C = A B (+ bias) with A = op(a), B = op(b): dA = g Bᵀ, dB = Aᵀ g (stored operands get the
  // transposes back), dbias = g (the tape sums it over the rows to [N]).
  return record(op, out, [...batch, M, N], bias ? [a, b, bias] : [a, b], (g) => [
    transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB }),
    sharedWeightGrad(a, b, g, transA, transB) ??
      (transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA })),
    ...(bias ? [g] : []),
  ]);
}

/**
 * dB for a weight shared by every batch entry (b [K, N] or [N, K] without batch dims, a [..., M, K]
 * with its own batch dims, as in a linear layer on [B, T, C]): one product over the batch folded into
 * the rows, aᵀ g on [P·M, K] and [P·M, N], instead of a [P, K, N] product summed over P by the tape.
 * null when the shapes are not of that kind.
 */
function sharedWeightGrad(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean): Tensor | null {
  if (transA || b.rank !== 2 || a.rank < 3) return null;
  if (g.rank !== a.rank || g.shape.slice(0, -2).some((d, i) => d !== a.shape[i])) return null;
  const K = a.shape[a.rank - 1]!;
  const N = g.shape[g.rank - 1]!;
  const rows = a.size / Math.max(K, 1);
  const a2 = reshape(a, [rows, K]);
  const g2 = reshape(g, [rows, N]);
  return transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
}
