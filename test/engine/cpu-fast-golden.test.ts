// Every golden fixture (test/fixtures/golden: PyTorch + transformers logits, loss, parameter
// gradients and Hessian-vector products) on the cpu device in float32 — the fast path unless
// CAMELS_CPU_KERNELS=reference — within float32 tolerance. The float64 reference runs the same
// fixtures in test/models/golden-models.test.ts.

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { MODELS, checkGolden } from '../models/golden.js';

const TOL = { logits: 1e-4, grads: 1e-3 };

const check = (model: string) => checkGolden(model, 'cpu', 'float32', TOL);

describe('golden models: cpu float32 (fast path)', () => {
  it('the cpu device is the fast backend unless CAMELS_CPU_KERNELS=reference', () => {
    const fast = E.getBackend('cpu') instanceof FastCpuBackend;
    expect(fast).toBe(process.env.CAMELS_CPU_KERNELS !== 'reference');
  });
  for (const m of MODELS) it(m, () => check(m));
});
