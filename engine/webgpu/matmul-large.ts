// Matmul whose operands or output are larger than one binding (windows.ts): e.g. GPT-2's LM head
// logits [B*T, 50257] against the 147 MiB embedding on llvmpipe (128 MiB bindings).
//
// Per batch item, the output is cut into [tm, tn] tiles and the contraction into tk slices, each
// product fitting one binding. An operand tile that is a run of whole stored rows is bound as a
// window (or copied when its start is not 256-byte aligned); other tiles are gathered by the strided
// copy kernel into a contiguous temporary. Partial products over k slices are summed; output tiles
// of whole rows are written in place, others copied into their place with copyInto.

import type { MatmulSpec } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Binding, Runtime } from './runtime.js';
import { runBinary, runCopy, runCopyInto } from './strided.js';
import { ALIGN, contiguousSlab, floorTo, windowElems, windowOf } from './windows.js';

/** The matmul the tiles are handed to (runMatmul's path for operands that fit one binding). */
export type Matmul2D = (rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, c: Binding) => void;

/** Tile sizes: multiples of 64 (or the whole dim) with every operand tile within `limit` elements. */
export function largeMatmulTiles(M: number, N: number, K: number, limit: number): { tm: number; tn: number; tk: number } {
  const cap = (v: number, lim: number): number => (v <= lim ? v : Math.min(v, Math.max(ALIGN, floorTo(lim, ALIGN))));
  const tk = cap(K, limit / ALIGN);
  let tm = cap(M, limit / tk);
  let tn = cap(N, limit / tk);
  if (tm * tn > limit) {
    if (tm >= tn) tm = cap(tm, limit / tn);
    else tn = cap(tn, limit / tm);
  }
  return { tm, tn, tk };
}

interface Tile {
  binding: Binding;
  temp: GpuBuffer | null;
}

/**
 * Rows [r0, r0 + nr) and columns [c0, c0 + nc) of a stored row-major [rows, cols] matrix at element
 * `base` of `buf`, as a contiguous [nr, nc] binding.
 */
function storedTile(rt: Runtime, buf: GpuBuffer, base: number, cols: number, r0: number, nr: number, c0: number, nc: number): Tile {
  if (c0 === 0 && nc === cols) return contiguousSlab(rt, buf, base + r0 * cols, nr * cols, true);
  const temp = rt.alloc(nr * nc * 4);
  runCopy(rt, 'float32', buf, { offset: base + r0 * cols + c0, strides: [cols, 1] }, [nr, nc], temp);
  return { binding: temp, temp };
}

export function runMatmulLarge(rt: Runtime, a: GpuBuffer, b: GpuBuffer, spec: MatmulSpec, c: GpuBuffer, matmul2d: Matmul2D): void {
  const { M, N, K, transA, transB } = spec;
  const W = windowElems(rt);
  // Slack for the software path's packed copies (uniform-window tail), at most half the window.
  const limit = Math.max(W - 16384, Math.floor(W / 2));
  const { tm, tn, tk } = largeMatmulTiles(M, N, K, limit);
  let batch = 1;
  for (const s of spec.batch) batch *= s;
  const idx = new Array<number>(spec.batch.length).fill(0);
  for (let item = 0; item < batch; item++) {
    let aBase = 0;
    let bBase = 0;
    idx.forEach((v, d) => {
      aBase += v * spec.aBatchStrides[d]!;
      bBase += v * spec.bBatchStrides[d]!;
    });
    const cBase = item * M * N;
    for (let m0 = 0; m0 < M; m0 += tm) {
      const mt = Math.min(tm, M - m0);
      for (let n0 = 0; n0 < N; n0 += tn) {
        const nt = Math.min(tn, N - n0);
        const fullRows = n0 === 0 && nt === N;
        let acc: GpuBuffer | null = null;
        for (let k0 = 0; k0 < K; k0 += tk) {
          const kt = Math.min(tk, K - k0);
          const at = transA ? storedTile(rt, a, aBase, M, k0, kt, m0, mt) : storedTile(rt, a, aBase, K, m0, mt, k0, kt);
          const bt = transB ? storedTile(rt, b, bBase, K, n0, nt, k0, kt) : storedTile(rt, b, bBase, N, k0, kt, n0, nt);
          const sub: MatmulSpec = { batch: [], aBatchStrides: [], bBatchStrides: [], M: mt, K: kt, N: nt, transA, transB };
          const start = cBase + m0 * N;
          if (fullRows && kt === K && start % ALIGN === 0) {
            // The tile is a run of whole output rows: write it in place.
            matmul2d(rt, at.binding, bt.binding, sub, windowOf(c, start, mt * N));
          } else {
            const part = rt.alloc(mt * nt * 4);
            matmul2d(rt, at.binding, bt.binding, sub, part);
            if (acc === null) acc = part;
            else {
              const sum = rt.alloc(mt * nt * 4);
              const v = { offset: 0, strides: [nt, 1] };
              runBinary(rt, 'add', 'float32', acc, v, part, v, [mt, nt], sum);
              rt.release(acc);
              rt.release(part);
              acc = sum;
            }
          }
          if (at.temp) rt.release(at.temp);
          if (bt.temp) rt.release(bt.temp);
        }
        if (acc) {
          if (fullRows) rt.copyBuffer(acc, 0, c, (cBase + m0 * N) * 4, mt * N * 4);
          else runCopyInto(rt, 'float32', c, { offset: cBase + m0 * N + n0, strides: [N, 1] }, acc, { offset: 0, strides: [nt, 1] }, [mt, nt]);
          rt.release(acc);
        }
      }
    }
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < spec.batch[d]!) break;
      idx[d] = 0;
    }
  }
}
