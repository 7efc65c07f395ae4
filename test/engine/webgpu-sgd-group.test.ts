// In-place SGD through the webgpu group kernel (shaders/sgdStepInPlaceGroup.wgsl): up to SGD_GROUP_MAX
// tensors per launch, odd sizes, a partial last group, a tensor larger than one binding (windowed),
// a gradient shared by two parameters — every parameter equals the float64 reference p - lr·g.

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { SGD_GROUP_MAX } from '../../engine/backend.js';
import { HostRng } from '../../engine/random.js';
import type { WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;

function values(n: number, seed: number): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => r.normal());
}

describe.skipIf(!gpu)('webgpu sgdStepInPlace by groups', () => {
  it('matches p - lr * g for 17 tensors in ceil(17 / 7) launches, a windowed one and a shared gradient among them', async () => {
    const sizes = [1, 7, 257, 4099, 3, 64, 65, 1000, 2, 9, 31, 70000, 5, 6, 6, 129, 11];
    const lr = 0.37;
    const rt = gpu!.rt;
    const saved = rt.maxBindingBytes;
    const ps = sizes.map((n, i) => E.tensor(values(n, i), [n], { device: 'webgpu' }));
    const gsHost = sizes.map((n, i) => values(n, 100 + i));
    gsHost[14] = gsHost[13]!; // parameters 13 and 14 share one gradient storage
    const gs = sizes.map((n, i) => (i === 14 ? null : E.tensor(gsHost[i]!, [n], { device: 'webgpu' })));
    gs[14] = gs[13]!.shareStorage([6], 'test');
    const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
    let groupCalls = 0;
    const original = target.sgdStepInPlaceGroup!;
    target.sgdStepInPlaceGroup = (...a: unknown[]) => {
      groupCalls++;
      return original.apply(gpu, a);
    };
    try {
      rt.maxBindingBytes = 65536; // the 70000-element tensor (280 KB) goes through windows
      E.sgdStepInPlace(ps, gs.map((g) => g!), lr);
      rt.maxBindingBytes = saved;
      expect(groupCalls).toBe(Math.ceil(sizes.length / SGD_GROUP_MAX));
      for (let i = 0; i < sizes.length; i++) {
        const got = await ps[i]!.data();
        const p0 = values(sizes[i]!, i);
        for (let j = 0; j < sizes[i]!; j++) {
          const want = p0[j]! - lr * gsHost[i]![j]!;
          expect(Math.abs(got[j]! - want), `tensor ${i} (size ${sizes[i]}) element ${j}`).toBeLessThan(1e-6 * (1 + Math.abs(want)));
        }
      }
    } finally {
      rt.maxBindingBytes = saved;
      delete target.sgdStepInPlaceGroup;
      [...ps, ...gs].forEach((t) => t!.dispose());
    }
  });
});
