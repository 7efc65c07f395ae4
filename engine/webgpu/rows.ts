// Fused row kernels: softmax / logSoftmax (shaders/softmax.wgsl), layerNorm (layerNorm.wgsl),
// crossEntropy (crossEntropy.wgsl). One workgroup per row; the workgroup size follows the row
// length (a power of two between 32 and 256). On software adapters (llvmpipe) every barrier is a
// coroutine switch per SIMD group, so small workgroups (16) are much faster there (measured:
// softmax 2048x768 in 31 ms with 16 invocations, 102 ms with 256). Operands larger than one
// binding are processed in windows of rows (windows.ts).

import type { Binding, Runtime } from './runtime.js';
import { forEachRowPiece } from './windows.js';

export function rowWorkgroup(C: number, software = false): number {
  if (software) return 16;
  let wg = 32;
  while (wg < 256 && wg * 2 <= C) wg *= 2;
  return wg;
}

export function runSoftmax(rt: Runtime, log: boolean, x: Binding, R: number, C: number, y: Binding): void {
  if (R === 0 || C === 0) return;
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const k = rt.kernel({ file: 'softmax.wgsl', entry: log ? 'logSoftmax' : 'softmax', bindings: 'rw', constants: { WG } });
  forEachRowPiece(rt, log ? 'logSoftmax' : 'softmax', R, [[x, C, 'r'], [y, C, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, b, (w) => w.u(rows).u(C), gx, gy);
  });
}

export function runLayerNorm(
  rt: Runtime,
  x: Binding,
  wt: Binding,
  b: Binding,
  R: number,
  C: number,
  eps: number,
  y: Binding,
): void {
  if (R === 0 || C === 0) return;
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const k = rt.kernel({ file: 'layerNorm.wgsl', entry: 'layerNorm', bindings: 'rrrw', constants: { WG } });
  forEachRowPiece(rt, 'layerNorm', R, [[x, C, 'r'], [y, C, 'w']], ([xb, yb], _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, [xb!, wt, b, yb!], (w) => w.u(rows).u(C).f(eps), gx, gy);
  });
}

export function runCrossEntropy(
  rt: Runtime,
  logits: Binding,
  labels: Binding,
  R: number,
  V: number,
  ignoreIndex: number,
  y: Binding,
): void {
  if (R === 0) return;
  const WG = rowWorkgroup(V, rt.softwareAdapter);
  const k = rt.kernel({ file: 'crossEntropy.wgsl', entry: 'crossEntropy', bindings: 'rrw', constants: { WG } });
  forEachRowPiece(rt, 'crossEntropy', R, [[logits, V, 'r'], [labels, 1, 'r'], [y, 1, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, b, (w) => w.u(rows).u(V).i(ignoreIndex), gx, gy);
  });
}

export function runCrossEntropyBackward(rt: Runtime, logits: Binding, labels: Binding, g: Binding, R: number, V: number, ignoreIndex: number, dx: Binding): void {
  if (R === 0 || V === 0) return;
  const WG = rowWorkgroup(V, rt.softwareAdapter);
  const k = rt.kernel({ file: 'crossEntropyBackward.wgsl', entry: 'crossEntropyBackward', bindings: 'rrrw', constants: { WG } });
  forEachRowPiece(rt, 'crossEntropyBackward', R, [[logits, V, 'r'], [labels, 1, 'r'], [g, 1, 'r'], [dx, V, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, b, (w) => w.u(rows).u(V).i(ignoreIndex), gx, gy);
  });
}

export function runSoftmaxBackward(rt: Runtime, y: Binding, g: Binding, R: number, C: number, dx: Binding): void {
  if (R === 0 || C === 0) return;
  const WG = rowWorkgroup(C, rt.softwareAdapter);
  const k = rt.kernel({ file: 'softmaxBackward.wgsl', entry: 'softmaxBackward', bindings: 'rrw', constants: { WG } });
  forEachRowPiece(rt, 'softmaxBackward', R, [[y, C, 'r'], [g, C, 'r'], [dx, C, 'w']], (b, _r0, rows) => {
    const [gx, gy] = rt.grid(rows);
    rt.dispatch(k, b, (w) => w.u(rows).u(C), gx, gy);
  });
}
