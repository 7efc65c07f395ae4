// No leaks: the live-storage count is unchanged across repeated training steps (tidy + Adam).

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { deviceUnderTest } from './webgpu-required.js';

for (const device of ['cpu', 'webgpu'] as const) {
  describe(`memory (${device})`, () => {
    it('a training step leaves the live-buffer count unchanged', async () => {
      const backend = await deviceUnderTest(device);
      if (!backend) return;
      const w = E.randNormal([8, 4], 0, 0.5, { seed: 1, device, requiresGrad: true });
      const b = E.zeros([4], { device, requiresGrad: true });
      const opt = new E.Adam([w, b], { lr: 0.01, maxGradNorm: 1 });
      const x = E.randNormal([16, 8], 0, 1, { seed: 2, device });
      const y = E.tensor(Array.from({ length: 16 }, (_, i) => i % 4), [16], { dtype: 'int32', device });
      const step = () =>
        E.tidy(() => {
          const logits = E.linear(x, w, b, 'in_out');
          const loss = E.meanCrossEntropy(logits, y);
          const gs = E.grad(loss, [w, b]);
          opt.step(gs);
          return loss;
        });
      const first = step();
      const l0 = await first.item();
      first.dispose();
      await backend.sync();
      const before = backend.liveCount();
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const l = step();
        last = await l.item();
        l.dispose();
      }
      await backend.sync();
      expect(backend.liveCount()).toBe(before);
      expect(last).toBeLessThan(l0);
      // a differentiable (createGraph) step inside tidy frees everything too
      const before2 = backend.liveCount();
      E.tidy(() => {
        const loss = E.meanCrossEntropy(E.linear(x, w, b, 'in_out'), y);
        const [gw, gb] = E.grad(loss, [w, b], { createGraph: true });
        const upd = E.sgdStep({ w, b }, { w: gw!, b: gb! }, 0.1);
        const outer = E.meanCrossEntropy(E.linear(x, upd.w, upd.b, 'in_out'), y);
        E.grad(outer, [w]);
      });
      expect(backend.liveCount()).toBe(before2);
      opt.dispose();
      for (const t of [w, b, x, y]) t.dispose();
    });
  });
}
