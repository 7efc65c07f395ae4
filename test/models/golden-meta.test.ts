// The CaMeLS meta-gradient against PyTorch on tiny-gpt2: sequential differentiable SGD on the
// weighted LM loss, QA loss + 0.1·KL, d/dw exact through the inner steps; then the weight-model
// chain (weights → inner loop → outer loss → weight-model parameters). cpu float64 and webgpu float32.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import { batchToDevice, type HostBatch } from '../../camels/batch.js';
import { metaObjective } from '../../camels/meta-objective.js';
import { loadWeightModel, tokenWeights } from '../../camels/weight-model.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import type { SafetensorsFile } from '../../models/safetensors.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { GOLDEN, floatTensor, ints, openExpected, relErr } from './golden.js';

const DIR = path.join(GOLDEN, 'tiny-gpt2');

function hostBatch(exp: SafetensorsFile, idsKey: string, maskKey: string, labelsKey?: string): HostBatch {
  const { data: ids, shape } = ints(exp, idsKey);
  return { B: shape[0]!, T: shape[1]!, ids, mask: ints(exp, maskKey).data, labels: labelsKey ? ints(exp, labelsKey).data : undefined };
}

async function check(device: DeviceName, dtype: DType, tol: number) {
  const exp = openExpected('tiny-gpt2');
  const lm = loadPretrained(DIR, { device, dtype });
  const wm = loadWeightModel(path.join(DIR, 'weight_model.safetensors'), path.join(DIR, 'weight_model_config.json'), { device, dtype });
  try {
    await E.tidyAsync(async () => {
      const batch = {
        docs: batchToDevice(hostBatch(exp, 'meta.doc_ids', 'meta.doc_mask'), dtype, device),
        qa: batchToDevice(hostBatch(exp, 'meta.qa_ids', 'meta.qa_mask', 'meta.qa_labels'), dtype, device),
        loc: batchToDevice(hostBatch(exp, 'meta.loc_ids', 'meta.loc_mask'), dtype, device),
      };
      const opts = { lr: 0.1, steps: 1, sequential: true, createGraph: true, cKl: 0.1 };
      const w = floatTensor(exp, 'meta.w', dtype, device);
      w.requiresGrad = true;
      const r = metaObjective(lm.config, lm.params, batch, w, opts);
      expect(relErr([await r.qaLoss.item()], exp.readAsFloat64('meta.qa_loss')), 'meta.qa_loss').toBeLessThan(tol);
      expect(relErr([await r.kl!.item()], exp.readAsFloat64('meta.kl')), 'meta.kl').toBeLessThan(tol);
      expect(relErr([await r.total.item()], exp.readAsFloat64('meta.loss')), 'meta.loss').toBeLessThan(tol);
      const [gw] = E.grad(r.total, [w]);
      expect(relErr(await gw!.data(), exp.readAsFloat64('meta.grad_w')), 'meta.grad_w').toBeLessThan(tol);

      // the weight-model chain
      const weights = tokenWeights(wm, wm.params, batch.docs.ids, batch.docs.mask);
      expect(relErr(await weights.data(), exp.readAsFloat64('wm.weights')), 'wm.weights').toBeLessThan(tol);
      const r2 = metaObjective(lm.config, lm.params, batch, weights, opts);
      expect(relErr([await r2.total.item()], exp.readAsFloat64('wm.meta_loss')), 'wm.meta_loss').toBeLessThan(tol);
      const names = Object.keys(wm.params);
      const gs = E.grad(r2.total, names.map((n) => wm.params[n]!));
      for (let i = 0; i < names.length; i++) {
        const key = names[i]!.startsWith('transformer.') ? `wm.grad.body.${names[i]!.slice('transformer.'.length)}` : `wm.grad.${names[i]}`;
        expect(relErr(await gs[i]!.data(), exp.readAsFloat64(key)), key).toBeLessThan(tol);
      }
    });
  } finally {
    disposeModel(lm);
    for (const t of Object.values(wm.params)) t.dispose();
    exp.close();
  }
}

describe('golden CaMeLS meta-gradient (tiny-gpt2)', () => {
  it('cpu float64', () => check('cpu', 'float64', 1e-9));
  it('webgpu float32', async () => {
    if (!(await deviceUnderTest('webgpu'))) return;
    await check('webgpu', 'float32', 1e-3);
  });
});
