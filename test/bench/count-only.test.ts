// `bench model --count-only` records a step's kernels without running them: its counts and peak
// memory must be exactly those of the real run (they do not depend on values), on both kernel
// families, and the real run afterwards must compute again (the switch is reset).

import { afterAll, describe, expect, it } from 'vitest';
import { benchModel } from '../../bench/model.js';
import * as E from '../../engine/index.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

const COUNTED = ['kernels', 'kernel_ops', 'dispatches', 'bind_groups_created', 'submits', 'upload_bytes', 'readbacks', 'peak_live_bytes', 'peak_held_bytes', 'peak_gib', 'peak_live_gib'];

describe.skipIf(!gpu)('bench model --count-only', () => {
  for (const family of ['gpu', 'software'] as KernelFamily[]) {
    it(`${family} kernels: the same counts and peak memory as the real run`, async () => {
      gpu!.kernelFamily = family;
      const opts = { config: 'tiny', batch: 2, seq: 16, json: true, repeat: 1, warmup: 2 };
      const quiet = console.log;
      console.log = () => {};
      let real, dry;
      try {
        gpu!.trim();
        real = await benchModel(gpu!, opts);
        gpu!.trim();
        dry = await benchModel(gpu!, { ...opts, countOnly: true });
      } finally {
        console.log = quiet;
      }
      expect(real.map((r) => r.op)).toEqual(['train_step', 'camels_meta_step']);
      for (let i = 0; i < real.length; i++) {
        expect(dry[i]!.count_only).toBe(1);
        for (const k of COUNTED) expect(dry[i]![k], `${real[i]!.op} ${k}`).toEqual(real[i]![k]);
      }
      expect(gpu!.rt.countOnly).toBe(false);
      const x = E.tensor([1, 2, 3], [3], { device: 'webgpu' });
      const y = E.mulScalar(x, 2);
      expect(Array.from(await y.data())).toEqual([2, 4, 6]);
      x.dispose();
      y.dispose();
    });
  }

  it('refuses the cpu backend with a clear error', async () => {
    await expect(benchModel(E.getBackend('cpu'), { config: 'tiny', batch: 1, seq: 8, json: true, repeat: 1, countOnly: true })).rejects.toThrow('--count-only needs the webgpu backend (got cpu)');
  });
});
