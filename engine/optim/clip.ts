// Global gradient-norm clipping without a readback: the clip coefficient stays on the device and is
// folded into the optimizer update (PyTorch's clip_grad_norm_: coef = min(1, max_norm / (norm + 1e-6))).

import { add, addScalar, div, minimum, mul, sqrt } from '../ops/elementwise.js';
import { full } from '../ops/creation.js';
import { sum } from '../ops/reduce.js';
import { noGrad } from '../scope.js';
import { Tensor } from '../tensor.js';

/** The global L2 norm of all gradients, as a 1-element tensor on the device. */
export function globalGradNorm(grads: readonly Tensor[]): Tensor {
  return noGrad(() => {
    let total: Tensor | null = null;
    for (const g of grads) {
      const s = sum(mul(g, g));
      total = total ? add(total, s) : s;
    }
    if (!total) throw new Error('globalGradNorm: no gradients');
    return sqrt(total);
  });
}

/** coef = min(1, maxNorm / (norm + 1e-6)) as a 1-element tensor; returns { norm, coef }. */
export function clipCoefficient(grads: readonly Tensor[], maxNorm: number): { norm: Tensor; coef: Tensor } {
  return noGrad(() => {
    const norm = globalGradNorm(grads);
    const one = full([], 1, { dtype: norm.dtype, device: norm.device });
    const coef = minimum(one, div(full([], maxNorm, { dtype: norm.dtype, device: norm.device }), addScalar(norm, 1e-6)));
    return { norm, coef };
  });
}
