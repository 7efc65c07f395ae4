// Row top-k (shaders/topk.wgsl): values [R, k] and int32 indices [R, k] of x [R, C], best first.
// One workgroup per row, one dispatch per KMAX = 64 output columns (each pass continues after the
// element the previous one wrote last). Rows of operands larger than one binding are processed
// in windows of rows (windows.ts); a piece runs all its passes before the next piece.

import type { Binding, Runtime } from './runtime.js';
import { rowWorkgroup } from './rows.js';
import { forEachRowPiece } from './windows.js';

/** Output columns one pass of shaders/topk.wgsl writes at most (its KMAX). */
export const TOPK_PASS_COLUMNS = 64;

export function runTopk(rt: Runtime, x: Binding, R: number, C: number, k: number, values: Binding, indices: Binding): void {
  if (R === 0) return;
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const kernel = rt.kernel({ file: 'topk.wgsl', entry: 'topk', bindings: 'rww', constants: { WG } });
  forEachRowPiece(rt, 'topk', R, [[x, C, 'r'], [values, k, 'w'], [indices, k, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    for (let col0 = 0; col0 < k; col0 += TOPK_PASS_COLUMNS) {
      const kk = Math.min(TOPK_PASS_COLUMNS, k - col0);
      rt.dispatch(kernel, b, (w) => w.u(rows).u(C).u(k).u(col0).u(kk), gx, gy);
    }
  });
}
