// Batched matmul with optional transposes and broadcast batch strides. Each batch element's operands
// are packed into contiguous float64 scratch ([M,K] and [K,N]), then multiplied with an i-k-j loop
// (four k per pass) accumulating in float64 rows, rounded once on write.

import type { MatmulSpec, Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf, requireFloat, requireSameDtype } from './storage.js';
import { numel } from './strided.js';

function checkSpec(spec: MatmulSpec, a: Storage, b: Storage): void {
  const { batch, aBatchStrides, bBatchStrides, M, K, N } = spec;
  for (const [name, v] of [['M', M], ['K', K], ['N', N]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`cpu matmul: ${name} must be a non-negative integer, got ${v}`);
  }
  if (aBatchStrides.length !== batch.length || bBatchStrides.length !== batch.length) {
    throw new Error(
      `cpu matmul: batch [${batch.join(', ')}] needs ${batch.length} batch strides per operand, got ` +
        `a [${aBatchStrides.join(', ')}] and b [${bBatchStrides.join(', ')}]`,
    );
  }
  if (numel(batch) === 0) return;
  const reach = (strides: number[], elem: number): number =>
    strides.reduce((acc, s, j) => acc + (batch[j] - 1) * s, 0) + elem;
  const aNeed = reach(aBatchStrides, M * K);
  const bNeed = reach(bBatchStrides, K * N);
  if (aNeed > a.size) throw new Error(`cpu matmul: a needs ${aNeed} elements for this spec, storage has ${a.size}`);
  if (bNeed > b.size) throw new Error(`cpu matmul: b needs ${bNeed} elements for this spec, storage has ${b.size}`);
}

/** Copy a [rows, cols] block at `off` into dst row-major; `trans` means src holds it as [cols, rows]. */
function pack(dst: Float64Array, src: TypedArray, off: number, rows: number, cols: number, trans: boolean): void {
  if (!trans) {
    for (let i = 0; i < rows * cols; i++) dst[i] = src[off + i];
    return;
  }
  for (let c = 0; c < cols; c++) {
    const s = off + c * rows;
    for (let r = 0; r < rows; r++) dst[r * cols + c] = src[s + r];
  }
}

export function matmul(a: Storage, b: Storage, spec: MatmulSpec): TypedArray {
  const A = dataOf(a, 'matmul');
  const B = dataOf(b, 'matmul');
  requireFloat(a, 'matmul', 'a');
  requireSameDtype('matmul', ['a', a], ['b', b]);
  checkSpec(spec, a, b);
  const { batch, aBatchStrides, bBatchStrides, M, K, N, transA, transB } = spec;
  const nBatch = numel(batch);
  const out = allocArray(a.dtype, nBatch * M * N);
  if (out.length === 0) return out;
  const pa = new Float64Array(M * K);
  const pb = new Float64Array(K * N);
  const acc = new Float64Array(N);
  const idx = new Array<number>(batch.length).fill(0);
  let lastA = -1;
  let lastB = -1;
  for (let t = 0; t < nBatch; t++) {
    let aOff = 0;
    let bOff = 0;
    for (let j = 0; j < batch.length; j++) {
      aOff += idx[j] * aBatchStrides[j];
      bOff += idx[j] * bBatchStrides[j];
    }
    // broadcast operands (stride 0) are packed once
    if (aOff !== lastA) pack(pa, A, aOff, M, K, transA);
    if (bOff !== lastB) pack(pb, B, bOff, K, N, transB);
    lastA = aOff;
    lastB = bOff;
    const o = t * M * N;
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      const ai = i * K;
      let k = 0;
      // four rows of b per pass: a quarter of the loads and stores of acc
      for (; k + 3 < K; k += 4) {
        const a0 = pa[ai + k];
        const a1 = pa[ai + k + 1];
        const a2 = pa[ai + k + 2];
        const a3 = pa[ai + k + 3];
        const b0 = k * N;
        const b1 = b0 + N;
        const b2 = b1 + N;
        const b3 = b2 + N;
        for (let j = 0; j < N; j++) acc[j] += a0 * pb[b0 + j] + a1 * pb[b1 + j] + a2 * pb[b2 + j] + a3 * pb[b3 + j];
      }
      for (; k < K; k++) {
        const aik = pa[ai + k];
        const bk = k * N;
        for (let j = 0; j < N; j++) acc[j] += aik * pb[bk + j];
      }
      const oi = o + i * N;
      for (let j = 0; j < N; j++) out[oi + j] = acc[j];
    }
    for (let j = batch.length - 1; j >= 0; j--) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
  return out;
}
