// In-place optimizer steps on the device (shaders/adam.wgsl): Adam / AdamW and SGD.

import type { AdamSpec } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';
import { forEachElementPiece } from './windows.js';

const WG = 256;

function distinct(op: string, bufs: GpuBuffer[]): void {
  if (new Set(bufs).size !== bufs.length) throw new Error(`webgpu ${op}: param, grad and moment storages must be distinct`);
}

export function runAdam(
  rt: Runtime,
  param: GpuBuffer,
  grad: GpuBuffer,
  m: GpuBuffer,
  v: GpuBuffer,
  scale: GpuBuffer | null,
  n: number,
  spec: AdamSpec,
): void {
  distinct('adamStep', [param, grad, m, v]);
  if (n === 0) return;
  const bc1 = 1 - Math.pow(spec.beta1, spec.step);
  const bc2 = 1 - Math.pow(spec.beta2, spec.step);
  const decay = spec.weightDecay > 0 ? spec.lr * spec.weightDecay : 0;
  const k = rt.kernel({ file: 'adam.wgsl', entry: 'adam_step', bindings: 'wrwwr' });
  forEachElementPiece(rt, n, [param, grad, m, v], ([pb, gb, mb, vb], _start, count) => {
    const [gx, gy] = rt.grid(Math.ceil(count / WG));
    rt.dispatch(
      k,
      [pb!, gb!, mb!, vb!, scale ?? gb!],
      (w) => w.u(count).u(scale ? 1 : 0).f(spec.lr).f(spec.beta1).f(spec.beta2).f(spec.eps).f(bc1).f(bc2).f(decay),
      gx,
      gy,
    );
  });
}

export function runSgd(rt: Runtime, param: GpuBuffer, grad: GpuBuffer, scale: GpuBuffer | null, n: number, lr: number): void {
  distinct('sgdStepInPlace', [param, grad]);
  if (n === 0) return;
  const k = rt.kernel({ file: 'adam.wgsl', entry: 'sgd_step', bindings: 'wr--r' });
  forEachElementPiece(rt, n, [param, grad], ([pb, gb], _start, count) => {
    const [gx, gy] = rt.grid(Math.ceil(count / WG));
    rt.dispatch(k, [pb!, gb!, scale ?? gb!], (w) => w.u(count).u(scale ? 1 : 0).f(lr), gx, gy);
  });
}
