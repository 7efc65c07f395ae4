// Batched matmul with optional transposes and broadcast batch strides: the reference loops.
//
// out[t, i, j] = Σ_k a[t](i, k) · b[t](k, j), summed in k order in float64 and rounded once on
// write, for every batch element t (row-major over spec.batch). a[t](i, k) is at
// aOff(t) + (transA ? k·M + i : i·K + k), b[t](k, j) at bOff(t) + (transB ? j·K + k : k·N + j).
// Deliberately plain: the fast float32 path is engine/cpu-fast/matmul.ts.

import type { MatmulSpec, Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf } from './storage.js';
import { numel } from './strided.js';

/** Storage offsets of a's and b's batch elements, in row-major order over `spec.batch`. */
export function batchOffsets(spec: MatmulSpec): { aOffs: number[]; bOffs: number[] } {
  const { batch, aBatchStrides, bBatchStrides } = spec;
  const n = numel(batch);
  const aOffs: number[] = [];
  const bOffs: number[] = [];
  const idx = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < n; t++) {
    let aOff = 0;
    let bOff = 0;
    for (let j = 0; j < batch.length; j++) {
      aOff += idx[j] * aBatchStrides[j];
      bOff += idx[j] * bBatchStrides[j];
    }
    aOffs.push(aOff);
    bOffs.push(bOff);
    for (let j = batch.length - 1; j >= 0; j--) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
  return { aOffs, bOffs };
}

/**
 * out[r, j] += bias[j] for every row r of out (rows of n): a linear layer's bias epilogue, a
 * separate pass so each element is rounded as by the product's write followed by an add.
 */
export function addBiasRows(out: TypedArray, bias: Storage, n: number): void {
  const B = dataOf(bias, 'matmul'); // dtype and size checked by the op table (CHECK.matmul)
  for (let o = 0; o < out.length; o += n) {
    for (let j = 0; j < n; j++) out[o + j] = out[o + j]! + B[j]!;
  }
}

export function matmul(a: Storage, b: Storage, spec: MatmulSpec): TypedArray {
  const A = dataOf(a, 'matmul');
  const B = dataOf(b, 'matmul');
  const { M, K, N, transA, transB } = spec;
  const out = allocArray(a.dtype, numel(spec.batch) * M * N);
  const { aOffs, bOffs } = batchOffsets(spec);
  // element strides of a along (i, k) and of b along (k, j)
  const [aI, aK] = transA ? [1, M] : [K, 1];
  const [bK, bJ] = transB ? [1, K] : [N, 1];
  for (let t = 0; t < aOffs.length; t++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[aOffs[t] + i * aI + k * aK] * B[bOffs[t] + k * bK + j * bJ];
        out[(t * M + i) * N + j] = acc;
      }
    }
  }
  return out;
}
