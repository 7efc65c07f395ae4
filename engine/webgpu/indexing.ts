// Row indexing kernels (shaders/indexing.wgsl): gather, deterministic scatterAdd, oneHot.
// No readback: indices are not validated here (the engine checks host-known indices); out-of-range
// indices give zero rows (gather, oneHot) or are skipped (scatterAdd) and never touch memory out of
// bounds.

import type { DType } from '../backend.js';
import { runFill } from './elementwise.js';
import type { Binding, Runtime } from './runtime.js';
import { wgslType } from './storage.js';
import { forEachRowPiece } from './windows.js';

const WG = 256;

export function runGather(rt: Runtime, table: Binding, N: number, D: number, idx: Binding, M: number, y: Binding, dtype: DType = 'float32'): void {
  if (M * D === 0) return;
  const k = rt.kernel({ file: 'indexing.wgsl', entry: 'gather', bindings: 'rr-w', aliases: { T: wgslType(dtype) } });
  forEachRowPiece(rt, 'gather', M, [[idx, 1, 'r'], [y, D, 'w']], ([ib, yb], _m0, rows) => {
    const [gx, gy] = rt.grid(Math.ceil((rows * D) / WG));
    forEachRowPiece(rt, 'gather', N, [[table, D, 'r']], ([tb], base, n) => {
      rt.dispatch(k, [tb!, ib!, yb!], (w) => w.u(n).u(D).u(rows).u(0).u(base).u(base === 0 ? 1 : 0), gx, gy);
    });
  });
}

export function runOneHot(rt: Runtime, idx: Binding, R: number, C: number, dtype: DType, y: Binding): void {
  if (R * C === 0) return;
  const k = rt.kernel({ file: 'indexing.wgsl', entry: 'oneHot', bindings: '-r-w', aliases: { T: wgslType(dtype) } });
  forEachRowPiece(rt, 'oneHot', R, [[idx, 1, 'r'], [y, C, 'w']], ([ib, yb], _r0, rows) => {
    const [gx, gy] = rt.grid(Math.ceil((rows * C) / WG));
    rt.dispatch(k, [ib!, yb!], (w) => w.u(0).u(0).u(rows).u(C), gx, gy);
  });
}

export function runScatterAdd(
  rt: Runtime,
  dtype: DType,
  src: Binding,
  M: number,
  D: number,
  idx: Binding,
  N: number,
  y: Binding,
): void {
  const T = wgslType(dtype);
  runFill(rt, y, N * D, dtype, 0);
  if (M === 0 || D === 0 || N === 0) return;
  const kl = rt.kernel({ file: 'indexing.wgsl', entry: 'scatterAddLinks', bindings: '-rw', aliases: { T } });
  const kr = rt.kernel({ file: 'indexing.wgsl', entry: 'scatterAdd', bindings: 'rrww', aliases: { T } });
  // Source rows in pieces when larger than one binding (each piece adds onto the previous ones),
  // output rows in windows (every window visited by all rows of the piece, each writing its own).
  forEachRowPiece(rt, 'scatterAdd', M, [[src, D, 'r'], [idx, 1, 'r']], ([sb, ib], m0, rows) => {
    const links = rt.alloc(2 * rows * 4);
    const [lx, ly] = rt.grid(Math.ceil(rows / WG));
    rt.dispatch(kl, [ib!, links], (w) => w.u(N).u(D).u(rows).u(0), lx, ly);
    const [gx, gy] = rt.grid(Math.ceil((rows * D) / WG));
    forEachRowPiece(rt, 'scatterAdd', N, [[y, D, 'rw']], ([yb], base, n) => {
      rt.dispatch(kr, [sb!, ib!, links, yb!], (w) => w.u(n).u(D).u(rows).u(0).u(base).u(0).u(m0 > 0 ? 1 : 0), gx, gy);
    });
    rt.release(links);
  });
}
