// In-place optimizer steps on the device (shaders/optim.wgsl): Adam / AdamW and SGD; SGD on a group
// of up to SGD_GROUP_MAX tensors in one dispatch (shaders/sgdStepInPlaceGroup.wgsl).

import { SGD_GROUP_MAX, type AdamSpec } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';
import { fitsWhole, forEachElementPiece } from './windows.js';

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
  const k = rt.kernel({ file: 'optim.wgsl', entry: 'adamStep', bindings: 'wrwwr' });
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
  const k = rt.kernel({ file: 'optim.wgsl', entry: 'sgdStepInPlace', bindings: 'wr--r' });
  forEachElementPiece(rt, n, [param, grad], ([pb, gb], _start, count) => {
    const [gx, gy] = rt.grid(Math.ceil(count / WG));
    rt.dispatch(k, [pb!, gb!, scale ?? gb!], (w) => w.u(count).u(scale ? 1 : 0).f(lr), gx, gy);
  });
}

/** Distinct scratch buffers bound to the unused pairs of a partial group (one set per runtime). */
const scratch = new WeakMap<Runtime, GpuBuffer[]>();

/**
 * p -= lr * g for up to SGD_GROUP_MAX pairs (sizes ns) in one dispatch; a pair larger than one
 * binding goes through runSgd's windows instead.
 */
export function runSgdGroup(rt: Runtime, params: GpuBuffer[], grads: GpuBuffer[], ns: number[], lr: number): void {
  if (params.length > SGD_GROUP_MAX) throw new Error(`webgpu sgdStepInPlaceGroup: at most ${SGD_GROUP_MAX} pairs, got ${params.length}`);
  // Params are written: distinct from each other and from every grad (grads may repeat).
  if (new Set(params).size !== params.length || params.some((p) => grads.includes(p))) {
    throw new Error('webgpu sgdStepInPlaceGroup: params must be distinct storages, none of them also a grad');
  }
  const bound: GpuBuffer[] = [];
  const ends: number[] = [];
  let total = 0;
  params.forEach((p, t) => {
    const g = grads[t]!;
    const n = ns[t]!;
    if (n === 0) return;
    if (!fitsWhole(rt, p) || !fitsWhole(rt, g)) {
      runSgd(rt, p, g, null, n, lr);
      return;
    }
    bound.push(p, g);
    total += n;
    ends.push(total);
  });
  if (total === 0) return;
  let pad = scratch.get(rt);
  if (!pad) {
    pad = Array.from({ length: 2 * SGD_GROUP_MAX }, () => rt.allocKept(4));
    scratch.set(rt, pad);
  }
  for (let t = ends.length; t < SGD_GROUP_MAX; t++) {
    bound.push(pad[2 * t]!, pad[2 * t + 1]!);
    ends.push(total);
  }
  const k = rt.kernel({ file: 'sgdStepInPlaceGroup.wgsl', entry: 'sgdStepInPlaceGroup', bindings: 'wr'.repeat(SGD_GROUP_MAX), constants: { WG } });
  const [gx, gy] = rt.grid(Math.ceil(total / WG));
  rt.dispatch(k, bound, (w) => w.u(total).f(lr).ints(ends, 8), gx, gy);
}
