// A training forward with attention dropout on (GPT-2's attn_pdrop = 0.1, and the residual and
// embedding dropouts) takes the fused attention ops with dropout inside the kernels; its loss and
// parameter gradients equal those of the composed attention (probabilities materialised, E.dropout
// on them, the same per-layer seeds) — for each model type (GPT-2: attentionPacked; GPT-Neo with
// its local layers and GPT-J: attentionRows), on cpu float64 and on webgpu (both kernel families).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { parseHfConfig } from '../../models/hf-config.js';
import { disposeModel, initModel, type CausalLM } from '../../models/pretrained.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { GOLDEN, MODELS, relErr } from './golden.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

const B = 2;
const T = 12; // beyond GPT-Neo's window of 8: its local layers mask
const ids = (() => {
  const r = new HostRng(21);
  return Array.from({ length: B * T }, () => Math.floor(r.uniform() * 512));
})();
const mask = Array.from({ length: B * T }, (_, i) => (i >= T && i < T + 3 ? 0 : 1)); // the second sequence left-padded

/** The fixture's architecture, freshly initialised, with dropout 0.1 on attention, residuals and embeddings. */
function modelWithDropout(model: string, dtype: DType, device: DeviceName): CausalLM {
  const raw = JSON.parse(fs.readFileSync(path.join(GOLDEN, model, 'config.json'), 'utf8')) as Record<string, unknown>;
  const cfg = { ...parseHfConfig(raw), attnDropout: 0.1, residDropout: 0.1, embdDropout: 0.1 };
  return initModel(cfg, raw, { seed: 7, dtype, device });
}

/** [loss, ...gradients] of the mean next-token cross entropy in training (dropout seed 1234). */
async function lossAndGrads(lm: CausalLM, composedAttention: boolean, training = true): Promise<Float64Array[]> {
  return E.tidyAsync(async () => {
    const dtype = lm.dtype as DType;
    const idsT = E.tensor(ids, [B, T], { dtype: 'int32', device: lm.device });
    const maskT = E.tensor(mask, [B, T], { dtype, device: lm.device });
    const logits = causalLmLogits(lm.config, lm.params, idsT, { attentionMask: maskT, training, dropoutSeed: 1234, composedAttention });
    const inputs = E.slice(logits, [0, 0, 0], [B, T - 1, logits.shape[2]!]);
    const labels = E.slice(idsT, [0, 1], [B, T]);
    const loss = E.meanCrossEntropy(inputs, labels);
    const params = Object.keys(lm.params).sort().map((k) => lm.params[k]!);
    const gs: Tensor[] = E.grad(loss, params);
    return (await Promise.all([loss, ...gs].map((t) => t.data()))).map((a) => Float64Array.from(a));
  });
}

function expectClose(got: Float64Array[], want: Float64Array[], tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(relErr(got[i]!, w), `${what}: ${i === 0 ? 'loss' : `gradient ${i - 1}`}`).toBeLessThan(tol));
}

describe('training with attention dropout: fused attention = composed attention', () => {
  for (const model of MODELS) {
    it(`${model}: cpu float64`, async () => {
      const lm = modelWithDropout(model, 'float64', 'cpu');
      try {
        const fused = await lossAndGrads(lm, false);
        const composed = await lossAndGrads(lm, true);
        expectClose(fused, composed, 1e-10, model);
        const eval_ = await lossAndGrads(lm, false, false);
        expect(Math.abs(fused[0]![0]! - eval_[0]![0]!), 'dropout changes the loss').toBeGreaterThan(1e-6);
      } finally {
        disposeModel(lm);
      }
    });
  }
});

const families: KernelFamily[] = ['gpu', 'software'];

describe.skipIf(!gpu)('training with attention dropout on webgpu', () => {
  for (const family of families) {
    it(`(${family} kernels) every model: webgpu fused = cpu float64 composed; the fused pass uploads nothing`, async () => {
      gpu!.kernelFamily = family;
      for (const model of MODELS) {
        const ref = modelWithDropout(model, 'float64', 'cpu');
        const lm = modelWithDropout(model, 'float32', 'webgpu');
        try {
          const want = await lossAndGrads(ref, true);
          const got = await lossAndGrads(lm, false);
          expectClose(got, want, 2e-4, `${model} (${family})`);
          // uploads inside a fused training pass (inputs made first)
          const idsT = E.tensor(ids, [B, T], { dtype: 'int32', device: 'webgpu' });
          const maskT = E.tensor(mask, [B, T], { device: 'webgpu' });
          const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
          const original = target.fromArray!;
          let uploads = 0;
          target.fromArray = (...a: unknown[]) => {
            uploads++;
            return original.apply(gpu, a);
          };
          try {
            const gs = E.tidy(() => {
              const logits = causalLmLogits(lm.config, lm.params, idsT, { attentionMask: maskT, training: true, dropoutSeed: 5 });
              return E.grad(E.mean(E.mul(logits, logits)), Object.values(lm.params));
            });
            await gs[0]!.data();
            gs.forEach((g) => g.dispose());
          } finally {
            delete target.fromArray;
          }
          expect(uploads, `${model} (${family}): host uploads inside the training pass`).toBe(0);
          idsT.dispose();
          maskT.dispose();
        } finally {
          disposeModel(ref);
          disposeModel(lm);
        }
      }
    });
  }
});
