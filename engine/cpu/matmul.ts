// Batched matmul with optional transposes and broadcast batch strides.
//
// Each batch element's operands are packed into contiguous float64 scratch (reused across calls):
// a as [M, K] row-major, b as column panels of NB columns, each panel [K, nb] row-major. The kernel
// walks a panel with an i-k-j loop over four rows of a at once (each load of a panel element serves
// four output rows), eight k per pass, accumulating in a float64 [4, nb] block (L1-resident) that is
// rounded once on write. A batch whose b is broadcast (batch stride 0) and whose a batch elements are
// consecutive [M, K] blocks runs as one [batch·M, K] × [K, N] product.
//
// Summation order: every output element is 0 + g0 + g1 + ... + tail, where g_q is
// ((a[k]b[k] + a[k+1]b[k+1]) + a[k+2]b[k+2]) + a[k+3]b[k+3] for k = 4q, and the K % 4 leftover
// products are added one at a time — in float64 for both float32 and float64. Row/column blocking,
// the eight-k passes (acc = (acc + g_q) + g_q+1) and batch folding do not change this order, so
// results are bit-identical to the previous unblocked one-row kernel.

import type { MatmulSpec, Storage, TypedArray } from '../backend.js';
import { allocArray, dataOf, requireFloat, requireSameDtype } from './storage.js';
import { numel } from './strided.js';

/** Output columns per packed b panel (a [4, NB] float64 accumulator block stays in L1). */
const NB = 128;
/** Scratch up to this many float64 elements is kept between calls; bigger buffers are one-off. */
const KEEP_SCRATCH = 1 << 20;

let scratchA = new Float64Array(0);
let scratchB = new Float64Array(0);
const accBlock = new Float64Array(4 * NB);

function scratch(which: 'a' | 'b', n: number): Float64Array {
  const cur = which === 'a' ? scratchA : scratchB;
  if (cur.length >= n) return cur;
  const fresh = new Float64Array(n);
  if (n <= KEEP_SCRATCH) {
    if (which === 'a') scratchA = fresh;
    else scratchB = fresh;
  }
  return fresh;
}

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

/**
 * dst[dOff + c·dStride + r] = src[sOff + r·sStride + c] for r < rows, c < cols: the transpose of a
 * row-major block, in 32 × 32 tiles so that neither side walks memory with a long stride.
 */
function transposeInto(
  dst: Float64Array,
  dOff: number,
  dStride: number,
  src: TypedArray,
  sOff: number,
  sStride: number,
  rows: number,
  cols: number,
): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = sOff + r * sStride;
        for (let c = c0; c < c1; c++) dst[dOff + c * dStride + r] = src[s + c];
      }
    }
  }
}

/** Pack a's [M, K] block at `off` row-major into dst; `trans`: src holds it as [K, M]. */
function packA(dst: Float64Array, src: TypedArray, off: number, M: number, K: number, trans: boolean): void {
  if (!trans) {
    for (let i = 0; i < M * K; i++) dst[i] = src[off + i];
    return;
  }
  transposeInto(dst, 0, K, src, off, M, K, M);
}

/**
 * Pack b's [K, N] block at `off` into column panels: panel j0 (columns j0 .. j0+nb) is [K, nb]
 * row-major at dst[j0 * K]. `trans`: src holds b as [N, K].
 */
function packB(dst: Float64Array, src: TypedArray, off: number, K: number, N: number, trans: boolean): void {
  for (let j0 = 0; j0 < N; j0 += NB) {
    const nb = Math.min(NB, N - j0);
    const p = j0 * K;
    if (!trans) {
      for (let k = 0; k < K; k++) {
        const s = off + k * N + j0;
        const d = p + k * nb;
        for (let j = 0; j < nb; j++) dst[d + j] = src[s + j];
      }
    } else {
      // src rows j0 .. j0+nb of [N, K] -> panel [K, nb]
      transposeInto(dst, p, nb, src, off + j0 * K, K, nb, K);
    }
  }
}

/** out[o + i*N + j] = sum_k pa[i*K + k] * B[k, j] for one batch element (pa, pb packed). */
function kernel(pa: Float64Array, pb: Float64Array, out: TypedArray, o: number, M: number, K: number, N: number): void {
  const acc = accBlock;
  const K4 = K - (K % 4);
  for (let j0 = 0; j0 < N; j0 += NB) {
    const nb = Math.min(NB, N - j0);
    const po = j0 * K;
    const n1 = nb;
    const n2 = 2 * nb;
    const n3 = 3 * nb;
    let i = 0;
    for (; i + 3 < M; i += 4) {
      acc.fill(0, 0, 4 * nb);
      const r0 = i * K;
      const r1 = r0 + K;
      const r2 = r1 + K;
      const r3 = r2 + K;
      let k = 0;
      // eight k per pass: acc = (acc + group(k..k+3)) + group(k+4..k+7), the same order as two passes
      for (; k + 7 < K; k += 8) {
        const a0 = pa[r0 + k], a1 = pa[r0 + k + 1], a2 = pa[r0 + k + 2], a3 = pa[r0 + k + 3];
        const a4 = pa[r0 + k + 4], a5 = pa[r0 + k + 5], a6 = pa[r0 + k + 6], a7 = pa[r0 + k + 7];
        const c0 = pa[r1 + k], c1 = pa[r1 + k + 1], c2 = pa[r1 + k + 2], c3 = pa[r1 + k + 3];
        const c4 = pa[r1 + k + 4], c5 = pa[r1 + k + 5], c6 = pa[r1 + k + 6], c7 = pa[r1 + k + 7];
        const d0 = pa[r2 + k], d1 = pa[r2 + k + 1], d2 = pa[r2 + k + 2], d3 = pa[r2 + k + 3];
        const d4 = pa[r2 + k + 4], d5 = pa[r2 + k + 5], d6 = pa[r2 + k + 6], d7 = pa[r2 + k + 7];
        const e0 = pa[r3 + k], e1 = pa[r3 + k + 1], e2 = pa[r3 + k + 2], e3 = pa[r3 + k + 3];
        const e4 = pa[r3 + k + 4], e5 = pa[r3 + k + 5], e6 = pa[r3 + k + 6], e7 = pa[r3 + k + 7];
        const b0 = po + k * nb;
        const b1 = b0 + nb;
        const b2 = b1 + nb;
        const b3 = b2 + nb;
        const b4 = b3 + nb;
        const b5 = b4 + nb;
        const b6 = b5 + nb;
        const b7 = b6 + nb;
        for (let j = 0; j < nb; j++) {
          const x0 = pb[b0 + j], x1 = pb[b1 + j], x2 = pb[b2 + j], x3 = pb[b3 + j];
          const x4 = pb[b4 + j], x5 = pb[b5 + j], x6 = pb[b6 + j], x7 = pb[b7 + j];
          acc[j] = acc[j] + (a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3) + (a4 * x4 + a5 * x5 + a6 * x6 + a7 * x7);
          acc[n1 + j] = acc[n1 + j] + (c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3) + (c4 * x4 + c5 * x5 + c6 * x6 + c7 * x7);
          acc[n2 + j] = acc[n2 + j] + (d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3) + (d4 * x4 + d5 * x5 + d6 * x6 + d7 * x7);
          acc[n3 + j] = acc[n3 + j] + (e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3) + (e4 * x4 + e5 * x5 + e6 * x6 + e7 * x7);
        }
      }
      if (k < K4) {
        const a0 = pa[r0 + k], a1 = pa[r0 + k + 1], a2 = pa[r0 + k + 2], a3 = pa[r0 + k + 3];
        const c0 = pa[r1 + k], c1 = pa[r1 + k + 1], c2 = pa[r1 + k + 2], c3 = pa[r1 + k + 3];
        const d0 = pa[r2 + k], d1 = pa[r2 + k + 1], d2 = pa[r2 + k + 2], d3 = pa[r2 + k + 3];
        const e0 = pa[r3 + k], e1 = pa[r3 + k + 1], e2 = pa[r3 + k + 2], e3 = pa[r3 + k + 3];
        const b0 = po + k * nb;
        const b1 = b0 + nb;
        const b2 = b1 + nb;
        const b3 = b2 + nb;
        for (let j = 0; j < nb; j++) {
          const x0 = pb[b0 + j], x1 = pb[b1 + j], x2 = pb[b2 + j], x3 = pb[b3 + j];
          acc[j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
          acc[n1 + j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
          acc[n2 + j] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
          acc[n3 + j] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3;
        }
      }
      for (k = K4; k < K; k++) {
        const a0 = pa[r0 + k], c0 = pa[r1 + k], d0 = pa[r2 + k], e0 = pa[r3 + k];
        const b0 = po + k * nb;
        for (let j = 0; j < nb; j++) {
          const x = pb[b0 + j];
          acc[j] += a0 * x;
          acc[n1 + j] += c0 * x;
          acc[n2 + j] += d0 * x;
          acc[n3 + j] += e0 * x;
        }
      }
      const oi = o + i * N + j0;
      for (let j = 0; j < nb; j++) {
        out[oi + j] = acc[j];
        out[oi + N + j] = acc[n1 + j];
        out[oi + 2 * N + j] = acc[n2 + j];
        out[oi + 3 * N + j] = acc[n3 + j];
      }
    }
    for (; i < M; i++) {
      acc.fill(0, 0, nb);
      const r0 = i * K;
      for (let k = 0; k < K4; k += 4) {
        const a0 = pa[r0 + k], a1 = pa[r0 + k + 1], a2 = pa[r0 + k + 2], a3 = pa[r0 + k + 3];
        const b0 = po + k * nb;
        const b1 = b0 + nb;
        const b2 = b1 + nb;
        const b3 = b2 + nb;
        for (let j = 0; j < nb; j++) acc[j] += a0 * pb[b0 + j] + a1 * pb[b1 + j] + a2 * pb[b2 + j] + a3 * pb[b3 + j];
      }
      for (let k = K4; k < K; k++) {
        const a0 = pa[r0 + k];
        const b0 = po + k * nb;
        for (let j = 0; j < nb; j++) acc[j] += a0 * pb[b0 + j];
      }
      const oi = o + i * N + j0;
      for (let j = 0; j < nb; j++) out[oi + j] = acc[j];
    }
  }
}

export function matmul(a: Storage, b: Storage, spec: MatmulSpec): TypedArray {
  const A = dataOf(a, 'matmul');
  const B = dataOf(b, 'matmul');
  requireFloat(a, 'matmul', 'a');
  requireSameDtype('matmul', ['a', a], ['b', b]);
  checkSpec(spec, a, b);
  const { transA, transB } = spec;
  let { batch, aBatchStrides, bBatchStrides, M } = spec;
  const { K, N } = spec;
  const out = allocArray(a.dtype, numel(batch) * M * N);
  if (out.length === 0) return out;
  if (!transA && batch.length > 0 && bBatchStrides.every((s) => s === 0)) {
    // b broadcast over the batch and a's batch elements back to back: one tall product
    let expect = M * K;
    let consecutive = true;
    for (let j = batch.length - 1; j >= 0; j--) {
      if (batch[j] !== 1 && aBatchStrides[j] !== expect) consecutive = false;
      expect *= batch[j];
    }
    if (consecutive) {
      M *= numel(batch);
      batch = [];
      aBatchStrides = [];
      bBatchStrides = [];
    }
  }
  const nBatch = numel(batch);
  const pa = scratch('a', M * K);
  const pb = scratch('b', K * N);
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
    if (aOff !== lastA) packA(pa, A, aOff, M, K, transA);
    if (bOff !== lastB) packB(pb, B, bOff, K, N, transB);
    lastA = aOff;
    lastB = bOff;
    kernel(pa, pb, out, t * M * N, M, K, N);
    for (let j = batch.length - 1; j >= 0; j--) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
  return out;
}
