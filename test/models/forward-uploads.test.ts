// A forward and backward pass of every model type uploads nothing from the host but its inputs:
// position ids, rotary tables and attention masks are made on the device (issue 11's counts).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Backend } from '../../engine/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { GOLDEN, MODELS, ints, openExpected } from './golden.js';

const gpu = await deviceUnderTest('webgpu');

describe.skipIf(!gpu)('model passes upload nothing on webgpu', () => {
  for (const model of MODELS) {
    it(`${model}: forward + backward with an attention mask`, async () => {
      const exp = openExpected(model);
      const lm = loadPretrained(path.join(GOLDEN, model), { device: 'webgpu', dtype: 'float32' });
      try {
        const { data: ids, shape } = ints(exp, 'input_ids');
        const [B, T] = shape as [number, number];
        const idsT = E.tensor(ids, [B, T], { dtype: 'int32', device: 'webgpu' });
        const maskT = E.tensor(ints(exp, 'attention_mask').data, [B, T], { device: 'webgpu' });
        const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
        const original = target.fromArray!;
        let uploads = 0;
        target.fromArray = (...a: unknown[]) => {
          uploads++;
          return original.apply(gpu as Backend, a);
        };
        try {
          const gs = E.tidy(() => {
            const logits = causalLmLogits(lm.config, lm.params, idsT, { attentionMask: maskT });
            const params = Object.values(lm.params).filter((p) => p.requiresGrad);
            return E.grad(E.mean(E.mul(logits, logits)), params.length ? params : Object.values(lm.params).slice(0, 1));
          });
          await gs[0]!.data();
          gs.forEach((g) => g.dispose());
        } finally {
          delete target.fromArray;
        }
        expect(uploads, 'host uploads inside the pass').toBe(0);
        idsT.dispose();
        maskT.dispose();
      } finally {
        disposeModel(lm);
      }
    });
  }
});
