// Every golden fixture (test/fixtures/golden: PyTorch + transformers logits, loss, parameter
// gradients and Hessian-vector products) on the cpu device in float32 — the fast path unless
// CAMELS_CPU_KERNELS=reference — within float32 tolerance. The float64 reference runs the same
// fixtures in test/models/golden-models.test.ts.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { GOLDEN, MODELS, floatTensor, ints, openExpected, relErr, shiftedLabels } from '../models/golden.js';

const TOL = { logits: 1e-4, grads: 1e-3 };

async function check(model: string): Promise<void> {
  const device = 'cpu';
  const dtype = 'float32';
  const exp = openExpected(model);
  const lm = loadPretrained(path.join(GOLDEN, model), { device, dtype });
  try {
    await E.tidyAsync(async () => {
      const { data: ids, shape } = ints(exp, 'input_ids');
      const [B, T] = shape as [number, number];
      const mask = ints(exp, 'attention_mask').data;
      const idsT = E.tensor(ids, [B, T], { dtype: 'int32', device });
      const maskT = E.tensor(mask, [B, T], { dtype, device });
      const logits = causalLmLogits(lm.config, lm.params, idsT, { attentionMask: maskT });
      expect(relErr(await logits.data(), exp.readAsFloat64('logits')), 'logits').toBeLessThan(TOL.logits);
      const V = logits.shape[2]!;
      const labels = E.tensor(shiftedLabels(ids, mask, B, T), [B, T - 1], { dtype: 'int32', device });
      const loss = E.meanCrossEntropy(E.slice(logits, [0, 0, 0], [B, T - 1, V]), labels);
      expect(relErr([await loss.item()], exp.readAsFloat64('loss')), 'loss').toBeLessThan(TOL.logits);
      const names = Object.keys(lm.params);
      const grads = E.grad(loss, names.map((n) => lm.params[n]!), { createGraph: true });
      for (let i = 0; i < names.length; i++) {
        expect(relErr(await grads[i]!.data(), exp.readAsFloat64(`grad.${names[i]}`)), `grad.${names[i]}`).toBeLessThan(TOL.grads);
      }
      // second order: H·v = d/dP Σ_Q <grad_Q, v_Q>
      let dot: E.Tensor | null = null;
      names.forEach((n, i) => {
        const t = E.sum(E.mul(grads[i]!, floatTensor(exp, `hvp_v.${n}`, dtype, device)));
        dot = dot ? E.add(dot, t) : t;
      });
      const hv = E.grad(dot!, names.map((n) => lm.params[n]!));
      for (let i = 0; i < names.length; i++) {
        expect(relErr(await hv[i]!.data(), exp.readAsFloat64(`hvp.${names[i]}`)), `hvp.${names[i]}`).toBeLessThan(TOL.grads);
      }
    });
  } finally {
    disposeModel(lm);
    exp.close();
  }
}

describe('golden models: cpu float32 (fast path)', () => {
  it('the cpu device is the fast backend unless CAMELS_CPU_KERNELS=reference', () => {
    const fast = E.getBackend('cpu') instanceof FastCpuBackend;
    expect(fast).toBe(process.env.CAMELS_CPU_KERNELS !== 'reference');
  });
  for (const m of MODELS) it(m, () => check(m));
});
