// Functional, differentiable SGD: θ' = θ − α g as new tensors (the CaMeLS inner loop), and an
// in-place variant for plain training.

import { mulScalar, sub } from '../ops/elementwise.js';
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
    out[key] = sub(p, mulScalar(g, lr));
  }
  return out;
}

/** In place: p -= lr * g for each pair (not recorded). */
export function sgdStepInPlace(params: readonly Tensor[], grads: readonly Tensor[], lr: number): void {
  params.forEach((p, i) => {
    const g = grads[i]!;
    p.backend.sgdStepInPlace(p.storageFor('sgdStepInPlace'), g.storageFor('sgdStepInPlace'), lr, null);
  });
}
