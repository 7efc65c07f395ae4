// Golden parity with PyTorch + transformers: logits, loss, every parameter gradient and the
// Hessian-vector products, on cpu float64 and webgpu float32, for tiny GPT-2, GPT-Neo and GPT-J.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import type { WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { GOLDEN, MODELS, floatTensor, ints, openExpected, relErr, shiftedLabels } from './golden.js';

const tolerances: Record<string, { logits: number; grads: number }> = {
  'cpu:tiny-gpt2': { logits: 1e-9, grads: 1e-9 },
  'cpu:tiny-gpt-neo': { logits: 1e-5, grads: 1e-5 },
  'cpu:tiny-gptj': { logits: 1e-5, grads: 1e-5 },
  webgpu: { logits: 1e-4, grads: 1e-3 },
};

async function check(model: string, device: DeviceName, dtype: DType) {
  const tol = tolerances[device === 'cpu' ? `cpu:${model}` : 'webgpu']!;
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
      const le = relErr(await logits.data(), exp.readAsFloat64('logits'));
      if (process.env.GOLDEN_VERBOSE) console.log(model, device, 'logits rel err', le);
      expect(le, 'logits').toBeLessThan(tol.logits);
      const V = logits.shape[2]!;
      const labels = E.tensor(shiftedLabels(ids, mask, B, T), [B, T - 1], { dtype: 'int32', device });
      const loss = E.meanCrossEntropy(E.slice(logits, [0, 0, 0], [B, T - 1, V]), labels);
      expect(relErr([await loss.item()], exp.readAsFloat64('loss')), 'loss').toBeLessThan(tol.logits);
      const names = Object.keys(lm.params);
      const grads = E.grad(loss, names.map((n) => lm.params[n]!), { createGraph: true });
      for (let i = 0; i < names.length; i++) {
        expect(relErr(await grads[i]!.data(), exp.readAsFloat64(`grad.${names[i]}`)), `grad.${names[i]}`).toBeLessThan(tol.grads);
      }
      // H·v: d/dP Σ_Q <grad_Q, v_Q>
      let dot: E.Tensor | null = null;
      names.forEach((n, i) => {
        const t = E.sum(E.mul(grads[i]!, floatTensor(exp, `hvp_v.${n}`, dtype, device)));
        dot = dot ? E.add(dot, t) : t;
      });
      const hv = E.grad(dot!, names.map((n) => lm.params[n]!));
      for (let i = 0; i < names.length; i++) {
        expect(relErr(await hv[i]!.data(), exp.readAsFloat64(`hvp.${names[i]}`)), `hvp.${names[i]}`).toBeLessThan(tol.grads);
      }
    });
  } finally {
    disposeModel(lm);
    exp.close();
  }
}

describe('golden models: cpu float64', () => {
  for (const m of MODELS) it(m, () => check(m, 'cpu', 'float64'));
});

describe('golden models: webgpu float32', () => {
  for (const m of MODELS) {
    it(m, async () => {
      if (!(await deviceUnderTest('webgpu'))) return;
      await check(m, 'webgpu', 'float32');
    });
  }
});

// The same checks with bindings of 32 KiB: the 512 x 32 embedding, the logits and their gradients no
// longer fit one binding, so gather, scatterAdd, the LM head matmul, cross-entropy rows (staged,
// since 64 rows of 512 exceed a window) and the elementwise ops all run their windowed paths.
describe('golden models: webgpu float32 with storages larger than one binding', () => {
  for (const m of MODELS) {
    it(m, async () => {
      const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
      if (!gpu) return;
      const saved = gpu.rt.maxBindingBytes;
      gpu.rt.maxBindingBytes = 32 * 1024;
      try {
        await check(m, 'webgpu', 'float32');
      } finally {
        gpu.rt.maxBindingBytes = saved;
      }
    });
  }
});
