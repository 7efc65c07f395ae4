// Functional, differentiable SGD: θ' = θ − α g as new tensors (the CaMeLS inner loop), and an
// in-place variant for plain training.

import { SGD_GROUP_MAX, type Backend, type Storage } from '../backend.js';
import { addScaled } from '../ops/elementwise.js';
import { hasKernel } from '../op-table/fallback.js';
import { Tensor, shapeStr } from '../tensor.js';

/**
 * One SGD step returning new parameters. When the gradients were made with createGraph, the new
 * parameters stay on the tape, so a loss computed with them can be differentiated back through g.
 */
export function sgdStep<K extends string>(params: Record<K, Tensor>, grads: Record<K, Tensor>, lr: number): Record<K, Tensor> {
  const out = {} as Record<K, Tensor>;
  for (const key of Object.keys(params) as K[]) {
    const p = params[key];
    const g = grads[key];
    if (!g) throw new Error(`sgdStep: no gradient for parameter '${key}'`);
    if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`sgdStep: gradient ${shapeStr(g.shape)} does not match parameter '${key}' ${shapeStr(p.shape)}`);
    }
    out[key] = addScaled(p, g, -lr); // p − lr·g, one kernel where the backend has it
  }
  return out;
}

/**
 * In place: p -= lr * g for each pair (not recorded). Float32 pairs go SGD_GROUP_MAX at a time
 * through the backend's group kernel when it has one, the rest one by one.
 */
export function sgdStepInPlace(params: readonly Tensor[], grads: readonly Tensor[], lr: number): void {
  if (grads.length !== params.length) throw new Error(`sgdStepInPlace: ${params.length} parameters but ${grads.length} gradients`);
  const groups = new Map<Backend, [Storage[], Storage[]]>();
  params.forEach((p, i) => {
    const g = grads[i]!;
    if (g.size !== p.size) throw new Error(`sgdStepInPlace: gradient ${shapeStr(g.shape)} does not match parameter ${shapeStr(p.shape)}`);
    const ps = p.storageFor('sgdStepInPlace');
    const gs = g.storageFor('sgdStepInPlace');
    const b = p.backend;
    if (!hasKernel(b, 'sgdStepInPlaceGroup') || p.dtype !== 'float32' || g.dtype !== 'float32' || g.backend !== b) {
      b.sgdStepInPlace(ps, gs, lr, null);
      return;
    }
    let group = groups.get(b);
    if (!group) groups.set(b, (group = [[], []]));
    if (group[0].includes(ps) || group[1].includes(ps) || group[0].includes(gs)) {
      // the same storage updated twice, or a param that is another pair's grad: keep the sequential order
      b.sgdStepInPlaceGroup!(group[0], group[1], lr);
      groups.set(b, (group = [[], []]));
    }
    group[0].push(ps);
    group[1].push(gs);
    if (group[0].length === SGD_GROUP_MAX) {
      b.sgdStepInPlaceGroup!(group[0], group[1], lr);
      groups.set(b, [[], []]);
    }
  });
  for (const [b, [ps, gs]] of groups) if (ps.length > 0) b.sgdStepInPlaceGroup!(ps, gs, lr);
}
