// Helpers for the golden-fixture tests: read expected tensors, build the HF causal-LM loss,
// compare with norm-relative error.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import * as E from '../../engine/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import { openSafetensors, type SafetensorsFile } from '../../models/safetensors.js';

export const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');
export const MODELS = ['tiny-gpt2', 'tiny-gpt-neo', 'tiny-gptj'] as const;

export function openExpected(model: string): SafetensorsFile {
  return openSafetensors(path.join(GOLDEN, model, 'expected.safetensors'));
}

export function ints(f: SafetensorsFile, key: string): { data: number[]; shape: number[] } {
  return { data: Array.from(f.readAsInt32(key)), shape: f.info(key).shape };
}

export function intTensor(f: SafetensorsFile, key: string, device: DeviceName): Tensor {
  const { data, shape } = ints(f, key);
  return E.tensor(data, shape, { dtype: 'int32', device });
}

export function floatTensor(f: SafetensorsFile, key: string, dtype: DType, device: DeviceName): Tensor {
  return E.tensor(f.readAsFloat64(key), f.info(key).shape, { dtype, device });
}

export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Labels for the HF causal-LM loss: ids shifted left by one, -100 where the next token is a pad. [B, T-1] */
export function shiftedLabels(ids: number[], mask: number[], B: number, T: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) out.push(mask[b * T + t] ? ids[b * T + t]! : -100);
  return out;
}

/**
 * One golden fixture on one device: logits, loss, every parameter gradient (created as a graph) and
 * the Hessian-vector products, each within its norm-relative tolerance.
 */
export async function checkGolden(model: string, device: DeviceName, dtype: DType, tol: { logits: number; grads: number }): Promise<void> {
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
