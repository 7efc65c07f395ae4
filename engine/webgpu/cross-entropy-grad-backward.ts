// The first-order vjp of crossEntropyBackward on WebGPU (shaders/crossEntropyBackward.wgsl, entry crossEntropyGradBackward):
// one workgroup per row of logits [R, V], rows in windows when an operand exceeds one binding.
// Per element: 3 reads of the logits, 2 of u, 1 write (the composite it replaces wrote six [R, V]
// temporaries and read them back).

import { rowWorkgroup } from './rows.js';
import type { Binding, Runtime } from './runtime.js';
import { forEachRowPiece } from './windows.js';

export function runCrossEntropyGradBackward(
  rt: Runtime,
  logits: Binding,
  labels: Binding,
  g: Binding,
  u: Binding,
  R: number,
  V: number,
  ignoreIndex: number,
  xBar: Binding,
  gBar: Binding,
): void {
  if (R === 0 || V === 0) return;
  const WG = rowWorkgroup(V, rt.softwareAdapter);
  const k = rt.kernel({ file: 'crossEntropyBackward.wgsl', entry: 'crossEntropyGradBackward', bindings: 'rrrwrw', constants: { WG } });
  forEachRowPiece(rt, 'crossEntropyGradBackward', R, [[logits, V, 'r'], [labels, 1, 'r'], [g, 1, 'r'], [xBar, V, 'w'], [u, V, 'r'], [gBar, 1, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, b, (w) => w.u(rows).u(V).i(ignoreIndex), gx, gy);
  });
}
