// First-order layer-norm backward (shaders/layerNormBackward.wgsl): dx by one workgroup per row
// (which also keeps each row's mean and rstd), dw and db by column partial sums over chunks of rows
// then one summing pass. Three dispatches where the composite backward takes about seventeen.
// Operands larger than one binding are processed in row windows (windows.ts), their partial chunks
// laid end to end.

import { runFill } from './elementwise.js';
import { runReduce } from './reduce.js';
import { rowWorkgroup } from './rows.js';
import type { Binding, Runtime } from './runtime.js';
import { forEachRowPiece } from './windows.js';

const WGC = 64;
/** Aim for at least this many column threads in flight in the partial-sum pass. */
const TARGET_THREADS = 32768;

export function runLayerNormBackward(
  rt: Runtime,
  x: Binding,
  wt: Binding,
  g: Binding,
  R: number,
  C: number,
  eps: number,
  dx: Binding,
  dw: Binding,
  db: Binding,
): void {
  if (C === 0) return;
  if (R === 0) {
    runFill(rt, dw, C, 'float32', 0);
    runFill(rt, db, C, 'float32', 0);
    return;
  }
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const stats = rt.alloc(R * 2 * 4);
  const rowsK = rt.kernel({ file: 'layerNormBackward.wgsl', entry: 'layerNormBackward', bindings: 'rrrww', constants: { WG } });
  forEachRowPiece(rt, 'layerNormBackward', R, [[x, C, 'r'], [g, C, 'r'], [dx, C, 'w'], [stats, 2, 'w']], ([xb, gb, dxb, sb], _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(rowsK, [xb!, wt, gb!, dxb!, sb!], (w) => w.u(rows).u(C).f(eps), gx, gy);
  });

  // Rows per chunk: enough chunks to fill the device, at least 16 rows each.
  const L = Math.max(16, Math.ceil(R / Math.max(1, Math.floor(TARGET_THREADS / C))));
  let S = 0;
  forEachRowPiece(rt, 'layerNormBackward', R, [[x, C, 'r']], (_b, _r0, rows) => (S += Math.ceil(rows / L)));
  const partial = rt.alloc(S * 2 * C * 4);
  const partK = rt.kernel({ file: 'layerNormBackward.wgsl', entry: 'layerNormBackwardParamPartials', bindings: 'r-r--rw', constants: { WGC } });
  let sbase = 0;
  forEachRowPiece(rt, 'layerNormBackward', R, [[x, C, 'r'], [g, C, 'r'], [stats, 2, 'r']], ([xb, gb, sb], _r0, rows) => {
    const chunks = Math.ceil(rows / L);
    if (chunks > rt.maxGroupsPerDim) throw new Error(`webgpu layerNormBackward: ${rows} rows need more than ${rt.maxGroupsPerDim} chunks`);
    const base = sbase;
    rt.dispatch(partK, [xb!, gb!, sb!, partial], (w) => w.u(rows).u(C).f(eps).u(L).u(base).u(S), Math.ceil(C / WGC), chunks);
    sbase += chunks;
  });
  const sumK = rt.kernel({ file: 'layerNormBackward.wgsl', entry: 'layerNormBackwardParamSum', bindings: '------www', constants: { WGC } });
  rt.dispatch(sumK, [partial, dw, db], (w) => w.u(R).u(C).f(eps).u(L).u(0).u(S), Math.ceil((2 * C) / WGC));
  rt.release(stats);
  rt.release(partial);
}

/**
 * First-order vjp of layer norm's dx at cotangent u (shaders/layerNormGradBackward.wgsl): x̄ and
 * ḡ [R, C] by one workgroup per row, w̄ [C] as the column sum of the row kernel's g·t.
 */
export function runLayerNormGradBackward(
  rt: Runtime,
  x: Binding,
  wt: Binding,
  g: Binding,
  dx: Binding,
  u: Binding,
  R: number,
  C: number,
  eps: number,
  xBar: Binding,
  gBar: Binding,
  wBar: Binding,
): void {
  if (C === 0) return;
  if (R === 0) {
    runFill(rt, wBar, C, 'float32', 0);
    return;
  }
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const gt = rt.alloc(R * C * 4);
  const k = rt.kernel({ file: 'layerNormGradBackward.wgsl', entry: 'layerNormGradBackward', bindings: 'rrrrrwww', constants: { WG } });
  forEachRowPiece(
    rt,
    'layerNormGradBackward',
    R,
    [[x, C, 'r'], [g, C, 'r'], [dx, C, 'r'], [u, C, 'r'], [xBar, C, 'w'], [gBar, C, 'w'], [gt, C, 'w']],
    ([xb, gb, dxb, ub, xbb, gbb, gtb], _r0, rows) => {
      const [gx, gy] = rt.grid(rows);
      rt.dispatch(k, [xb!, wt, gb!, dxb!, ub!, xbb!, gbb!, gtb!], (w) => w.u(rows).u(C).f(eps), gx, gy);
    },
  );
  runReduce(rt, 'sum', 'float32', gt, [R, C], [0], wBar);
  rt.release(gt);
}

/** First-order vjp of layer norm's dw at cotangent a [C]: x̄ = LNdx(a g), ḡ = a x̂ (both [R, C]). */
export function runLayerNormWeightGradBackward(rt: Runtime, x: Binding, g: Binding, a: Binding, R: number, C: number, eps: number, xBar: Binding, gBar: Binding): void {
  if (C === 0 || R === 0) return;
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const k = rt.kernel({ file: 'layerNormGradBackward.wgsl', entry: 'layerNormWeightGradBackward', bindings: 'rrr--ww', constants: { WG } });
  forEachRowPiece(rt, 'layerNormWeightGradBackward', R, [[x, C, 'r'], [g, C, 'r'], [xBar, C, 'w'], [gBar, C, 'w']], ([xb, gb, xbb, gbb], _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, [xb!, a, gb!, xbb!, gbb!], (w) => w.u(rows).u(C).f(eps), gx, gy);
  });
}
