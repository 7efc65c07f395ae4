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
//
// Threads: a product of at least matmulThreadConfig().minFlops (2·batch·M·N·K) is split into units
// (blocks of output rows — a multiple of four — or rows × column panels, of one batch element) that
// the main thread and the worker threads of matmul-pool.ts claim one by one. The operands are then
// packed into a SharedArrayBuffer arena (batches in chunks that fit the kept arena) and every thread
// runs this file's `kernel` (the workers a copy made from its source text) on its units, so each
// output element gets exactly the same operations in the same order as on one thread: results are
// bit-identical whatever the thread count (CAMELS_CPU_THREADS; 1 turns threads off).

import type { MatmulSpec, Storage, TypedArray } from '../backend.js';
import { matmulPool, matmulThreadConfig, type MatmulPool, type MatmulThreadConfig } from './matmul-pool.js';
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
 * row-major block, in 32 × 32 tiles so that neither side walks memory with a long stride; eight
 * source rows per pass, so that each destination row gets eight consecutive elements at a time.
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
      let r = r0;
      for (; r + 7 < r1; r += 8) {
        const s0 = sOff + r * sStride;
        const s1 = s0 + sStride;
        const s2 = s1 + sStride;
        const s3 = s2 + sStride;
        const s4 = s3 + sStride;
        const s5 = s4 + sStride;
        const s6 = s5 + sStride;
        const s7 = s6 + sStride;
        for (let c = c0; c < c1; c++) {
          const d = dOff + c * dStride + r;
          dst[d] = src[s0 + c];
          dst[d + 1] = src[s1 + c];
          dst[d + 2] = src[s2 + c];
          dst[d + 3] = src[s3 + c];
          dst[d + 4] = src[s4 + c];
          dst[d + 5] = src[s5 + c];
          dst[d + 6] = src[s6 + c];
          dst[d + 7] = src[s7 + c];
        }
      }
      for (; r < r1; r++) {
        const s = sOff + r * sStride;
        for (let c = c0; c < c1; c++) dst[dOff + c * dStride + r] = src[s + c];
      }
    }
  }
}

/**
 * Pack rows i0 .. i1 of a's [M, K] block at `off` row-major into dst (the block at `d`);
 * `trans`: src holds it as [K, M].
 */
function packA(
  dst: Float64Array,
  d: number,
  src: TypedArray,
  off: number,
  M: number,
  K: number,
  trans: boolean,
  i0 = 0,
  i1 = M,
): void {
  if (!trans) {
    dst.set(src.subarray(off + i0 * K, off + i1 * K), d + i0 * K);
    return;
  }
  transposeInto(dst, d + i0 * K, K, src, off + i0, M, K, i1 - i0);
}

/**
 * Pack b's [K, N] block at `off` into column panels: panel j0 (columns j0 .. j0+nb) is [K, nb]
 * row-major at dst[d0 + j0 * K]. `trans`: src holds b as [N, K].
 */
function packB(dst: Float64Array, d0: number, src: TypedArray, off: number, K: number, N: number, trans: boolean): void {
  for (let j0 = 0; j0 < N; j0 += NB) {
    const nb = Math.min(NB, N - j0);
    const p = d0 + j0 * K;
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

/**
 * out[o + i*N + j] = sum_k pa[paOff + i*K + k] * B[k, j] for rows i0 <= i < i1 and columns
 * j0 <= j < j1 of one batch element, b packed in panels of NB columns at pb[pbOff] (j0 a multiple
 * of NB). The worker threads run a copy built from this function's source text (matmul-pool.ts), so
 * it may use no outer bindings but its parameters and the module constants NB and accBlock, which
 * the worker script defines too (as constants rather than parameters they keep the kernel ~5%
 * faster: V8 then knows the accumulator block's length).
 */
function kernel(
  pa: Float64Array,
  paOff: number,
  pb: Float64Array,
  pbOff: number,
  out: TypedArray,
  o: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  K: number,
  N: number,
): void {
  const acc = accBlock;
  const K4 = K - (K % 4);
  for (let jb = j0; jb < j1; jb += NB) {
    const nb = Math.min(NB, j1 - jb);
    const po = pbOff + jb * K;
    const n1 = nb;
    const n2 = 2 * nb;
    const n3 = 3 * nb;
    let i = i0;
    for (; i + 3 < i1; i += 4) {
      acc.fill(0, 0, 4 * nb);
      const r0 = paOff + i * K;
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
      const oi = o + i * N + jb;
      for (let j = 0; j < nb; j++) {
        out[oi + j] = acc[j];
        out[oi + N + j] = acc[n1 + j];
        out[oi + 2 * N + j] = acc[n2 + j];
        out[oi + 3 * N + j] = acc[n3 + j];
      }
    }
    for (; i < i1; i++) {
      acc.fill(0, 0, nb);
      const r0 = paOff + i * K;
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
      const oi = o + i * N + jb;
      for (let j = 0; j < nb; j++) out[oi + j] = acc[j];
    }
  }
}

let kernelSource: string | null = null;

/** The pool for this kernel when threads are on, else null. */
function pool(): MatmulPool | null {
  kernelSource ??= kernel.toString();
  return matmulPool(kernelSource, NB);
}

/**
 * Start the matmul worker threads now (they otherwise start on the first large matmul) and wait up
 * to `timeoutMs` for them; returns how many are running (0 when threads are off).
 */
export function startMatmulThreads(timeoutMs = 10_000): number {
  const p = pool();
  return p === null ? 0 : p.waitReady(timeoutMs);
}

/** Units of one job: blocks of R output rows (a multiple of 4) × blocks of CB columns, per batch element. */
function unitGrid(nb: number, M: number, N: number, threads: number): { upb: number; R: number; cpb: number; CB: number } {
  const target = 4 * threads; // a few units per thread, so that a slow thread leaves work to the others
  const ceil4 = (x: number): number => Math.ceil(x / 4) * 4;
  const upbWanted = Math.max(1, Math.ceil(target / nb));
  // at least 16 rows per unit (or all of them): each packed b panel then serves many rows
  const R = Math.max(ceil4(Math.ceil(M / upbWanted)), Math.min(16, ceil4(M)));
  const upb = Math.ceil(M / R);
  const panels = Math.ceil(N / NB);
  let CB = panels * NB;
  if (nb * upb < target && panels > 1) {
    const cpbWanted = Math.min(panels, Math.ceil(target / (nb * upb)));
    CB = Math.ceil(panels / cpbWanted) * NB;
  }
  return { upb, R, cpb: Math.ceil(N / CB), CB };
}

/** The batched product split over the pool's workers and the main thread (same kernel, same results). */
function matmulThreaded(
  p: MatmulPool,
  cfg: Readonly<MatmulThreadConfig>,
  A: TypedArray,
  B: TypedArray,
  out: TypedArray,
  aOffs: number[],
  bOffs: number[],
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
): void {
  const nBatch = aOffs.length;
  const f64out = out instanceof Float64Array;
  const outF64 = (n: number): number => (f64out ? n : Math.ceil(n / 2));
  const need = (nb: number, nA: number, nB: number): number => 3 * nb + nA * M * K + nB * K * N + outF64(nb * M * N);
  for (let t0 = 0; t0 < nBatch; ) {
    // as many batch elements as fit the kept arena (at least one); broadcast operands packed once
    const aSlot = new Map<number, number>();
    const bSlot = new Map<number, number>();
    const slots: number[] = [];
    let t1 = t0;
    for (; t1 < nBatch; t1++) {
      const newA = aSlot.has(aOffs[t1]) ? 0 : 1;
      const newB = bSlot.has(bOffs[t1]) ? 0 : 1;
      if (t1 > t0 && need(t1 - t0 + 1, aSlot.size + newA, bSlot.size + newB) > cfg.keepArena) break;
      if (newA) aSlot.set(aOffs[t1], aSlot.size);
      if (newB) bSlot.set(bOffs[t1], bSlot.size);
      slots.push(aSlot.get(aOffs[t1]) as number, bSlot.get(bOffs[t1]) as number);
    }
    const nb = t1 - t0;
    p.arena(need(nb, aSlot.size, bSlot.size), cfg.keepArena);
    const f64 = p.f64;
    const aBase = 3 * nb;
    const bBase = aBase + aSlot.size * M * K;
    const panelF64 = bBase + bSlot.size * K * N;
    const panelBase = f64out ? panelF64 : 2 * panelF64; // in output elements
    const panel = f64out ? f64 : p.f32;
    for (let b = 0; b < nb; b++) {
      f64[3 * b] = aBase + slots[2 * b] * M * K;
      f64[3 * b + 1] = bBase + slots[2 * b + 1] * K * N;
      f64[3 * b + 2] = panelBase + b * M * N;
    }
    const { upb, R, cpb, CB } = unitGrid(nb, M, N, cfg.threads);
    const per = upb * cpb;
    const total = nb * per;
    const unit = (u: number): [number, number, number, number, number] => {
      const b = (u / per) | 0;
      const rem = u - b * per;
      const rb = (rem / cpb) | 0;
      const cb = rem - rb * cpb;
      return [b, rb * R, Math.min(M, rb * R + R), cb * CB, Math.min(N, cb * CB + CB)];
    };
    // packing order = unit order: per batch element its b (first use), then a's rows block by block
    const prepare = (avail: (units: number) => void): void => {
      const doneA = new Uint8Array(aSlot.size);
      const doneB = new Uint8Array(bSlot.size);
      for (let b = 0; b < nb; b++) {
        const sa = slots[2 * b];
        const sb = slots[2 * b + 1];
        if (doneB[sb] === 0) {
          packB(f64, f64[3 * b + 1] | 0, B, bOffs[t0 + b], K, N, transB);
          doneB[sb] = 1;
        }
        if (doneA[sa] === 0) {
          for (let rb = 0; rb < upb; rb++) {
            packA(f64, f64[3 * b] | 0, A, aOffs[t0 + b], M, K, transA, rb * R, Math.min(M, rb * R + R));
            avail(b * per + (rb + 1) * cpb);
          }
          doneA[sa] = 1;
        }
        avail((b + 1) * per);
      }
    };
    const mine = p.run(
      { total, M, K, N, upb, cpb, R, CB, descOff: 0, dtype: f64out ? 1 : 0, unitFlops: 2 * R * CB * K },
      prepare,
      (u) => {
        const [b, i0, i1, j0, j1] = unit(u);
        kernel(f64, f64[3 * b] | 0, f64, f64[3 * b + 1] | 0, out, (t0 + b) * M * N, i0, i1, j0, j1, K, N);
      },
      cfg,
    );
    // the workers' units are in the output panel
    for (let u = 0; u < total; u++) {
      if (mine[u] === 1) continue;
      const [b, i0, i1, j0, j1] = unit(u);
      const src = panelBase + b * M * N;
      const dst = (t0 + b) * M * N;
      if (j0 === 0 && j1 === N) {
        out.set(panel.subarray(src + i0 * N, src + i1 * N), dst + i0 * N);
      } else {
        for (let i = i0; i < i1; i++) out.set(panel.subarray(src + i * N + j0, src + i * N + j1), dst + i * N + j0);
      }
    }
    p.releaseOneOff();
    t0 = t1;
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
  // batch offsets as small integers (a Float64Array would hand the kernels doubles to index with)
  const aOffs = new Array<number>(nBatch).fill(0);
  const bOffs = new Array<number>(nBatch).fill(0);
  const idx = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < nBatch; t++) {
    let aOff = 0;
    let bOff = 0;
    for (let j = 0; j < batch.length; j++) {
      aOff += idx[j] * aBatchStrides[j];
      bOff += idx[j] * bBatchStrides[j];
    }
    aOffs[t] = aOff;
    bOffs[t] = bOff;
    for (let j = batch.length - 1; j >= 0; j--) {
      if (++idx[j] < batch[j]) break;
      idx[j] = 0;
    }
  }
  const cfg = matmulThreadConfig();
  if (cfg.threads > 1 && 2 * nBatch * M * N * K >= cfg.minFlops && (nBatch * M >= 8 || N > NB)) {
    const p = pool();
    if (p !== null) {
      matmulThreaded(p, cfg, A, B, out, aOffs, bOffs, M, K, N, transA, transB);
      return out;
    }
  }
  const pa = scratch('a', M * K);
  const pb = scratch('b', K * N);
  let lastA = -1;
  let lastB = -1;
  for (let t = 0; t < nBatch; t++) {
    // broadcast operands (stride 0) are packed once
    if (aOffs[t] !== lastA) packA(pa, 0, A, aOffs[t], M, K, transA);
    if (bOffs[t] !== lastB) packB(pb, 0, B, bOffs[t], K, N, transB);
    lastA = aOffs[t];
    lastB = bOffs[t];
    kernel(pa, 0, pb, 0, out, t * M * N, 0, M, 0, N, K, N);
  }
  return out;
}
