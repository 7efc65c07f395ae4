// The fused first-order vjp of the cross-entropy backward (Backend.crossEntropyGradBackward), used
// when the backward of a recorded cross-entropy backward is itself not recorded (the outer gradient
// of a CaMeLS meta step): equal to the composite vjp (the same gradient taken with createGraph,
// which composes softmax, products and sums), on cpu float64, the fast cpu path and webgpu (both
// kernel families), with ignored rows, and checked against finite differences on cpu float64.

import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Backend, Tensor } from '../../engine/index.js';
import { CpuBackend } from '../../engine/cpu/index.js';
import { HostRng } from '../../engine/random.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

const [R, V] = [7, 37];
const LABELS = [3, -100, 0, 36, 5, -100, 12];

function values(n: number, seed: number, scale = 2): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => scale * (2 * r.uniform() - 1));
}

/**
 * h(x, gw) = Σ v · ∂/∂x Σ_r gw[r] · CE(x[r], label[r]): its gradient w.r.t. x and gw goes through the
 * vjp of the recorded cross-entropy backward — fused when `recorded` is false, composed when true.
 */
async function secondOrder(device: 'cpu' | 'webgpu', dtype: 'float32' | 'float64', recorded: boolean): Promise<{ dx: number[]; dgw: number[]; calls: number }> {
  const backend: Backend = E.getBackend(device);
  let calls = 0;
  const fused = backend.crossEntropyGradBackward?.bind(backend);
  if (fused) {
    (backend as { crossEntropyGradBackward?: unknown }).crossEntropyGradBackward = (...a: Parameters<typeof fused>) => {
      calls++;
      return fused(...a);
    };
  }
  try {
    return await E.tidyAsync(async () => {
      const x = E.tensor(values(R * V, 1), [R, V], { device, dtype, requiresGrad: true });
      const gw = E.tensor(values(R, 2, 1), [R], { device, dtype, requiresGrad: true });
      const v = E.tensor(values(R * V, 3), [R, V], { device, dtype });
      const labels = E.tensor(LABELS, [R], { device, dtype: 'int32' });
      const f = E.sum(E.mul(E.crossEntropy(x, labels), gw));
      const [dx] = E.grad(f, [x], { createGraph: true });
      const h = E.sum(E.mul(dx!, v));
      const [hx, hg] = E.grad(h, [x, gw], { createGraph: recorded });
      return { dx: Array.from(await hx!.data()), dgw: Array.from(await hg!.data()), calls };
    });
  } finally {
    if (fused) delete (backend as { crossEntropyGradBackward?: unknown }).crossEntropyGradBackward;
  }
}

function expectClose(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length);
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / (1 + Math.abs(b[i]!))));
  expect(worst).toBeLessThan(tol);
}

describe('crossEntropyGradBackward (the fused vjp of the recorded cross-entropy backward)', () => {
  it('cpu float64: equal to the composite, and ignored rows give 0', async () => {
    const fused = await secondOrder('cpu', 'float64', false);
    const composite = await secondOrder('cpu', 'float64', true);
    expect(fused.calls).toBe(1);
    expect(composite.calls).toBe(0);
    expectClose(fused.dx, composite.dx, 1e-12);
    expectClose(fused.dgw, composite.dgw, 1e-12);
    LABELS.forEach((l, r) => {
      if (l !== -100) return;
      expect(fused.dgw[r]).toBe(0);
      expect(fused.dx.slice(r * V, (r + 1) * V).every((t) => t === 0)).toBe(true);
    });
  });

  it('cpu float64: the kernel agrees with central differences of the first-order backward', () => {
    const cpu = new CpuBackend();
    const x = values(R * V, 4);
    const g = values(R, 5, 1);
    const u = values(R * V, 6);
    const st = (a: number[], dtype: 'float64' | 'int32' = 'float64') => cpu.fromArray(dtype === 'int32' ? Int32Array.from(a) : Float64Array.from(a), dtype);
    const labels = st(LABELS, 'int32');
    const dot = (xs: number[], gs: number[]) => {
      const out = cpu.crossEntropyBackward(st(xs), labels, st(gs), R, V, -100);
      const d = (out as unknown as { data: Float64Array }).data;
      return d.reduce((acc, t, i) => acc + t * u[i]!, 0);
    };
    const [xb, gb] = cpu.crossEntropyGradBackward!(st(x), labels, st(g), st(u), R, V, -100).map((s) => Array.from((s as unknown as { data: Float64Array }).data));
    const h = 1e-6;
    for (const i of [0, 5, V + 2, 2 * V + 36, 6 * V + 12]) {
      const xp = [...x];
      const xm = [...x];
      xp[i]! += h;
      xm[i]! -= h;
      expect(Math.abs((dot(xp, g) - dot(xm, g)) / (2 * h) - xb![i]!)).toBeLessThan(1e-6);
    }
    for (const r of [0, 1, 3]) {
      const gp = [...g];
      const gm = [...g];
      gp[r]! += h;
      gm[r]! -= h;
      expect(Math.abs((dot(x, gp) - dot(x, gm)) / (2 * h) - gb![r]!)).toBeLessThan(1e-6);
    }
  });

  it('fast cpu float32: equal to the float64 reference', async () => {
    const ref = await secondOrder('cpu', 'float64', false);
    const f32 = await secondOrder('cpu', 'float32', false);
    expectClose(f32.dx, ref.dx, 2e-5);
    expectClose(f32.dgw, ref.dgw, 2e-5);
  });

  describe.skipIf(!gpu)('webgpu', () => {
    for (const family of ['gpu', 'software'] as KernelFamily[]) {
      it(`${family} kernels: the fused kernel runs and equals the cpu float64 composite`, async () => {
        gpu!.kernelFamily = family;
        const ref = await secondOrder('cpu', 'float64', true);
        const fused = await secondOrder('webgpu', 'float32', false);
        expect(fused.calls).toBe(1);
        expectClose(fused.dx, ref.dx, 2e-5);
        expectClose(fused.dgw, ref.dgw, 2e-5);
      });
    }

    it('rows in windows (one binding lowered below the logits): the same values', async () => {
      gpu!.kernelFamily = 'gpu';
      const whole = await secondOrder('webgpu', 'float32', false);
      const saved = gpu!.rt.maxBindingBytes;
      gpu!.rt.maxBindingBytes = 256; // 64 floats: the [7, 37] logits and cotangent split into row windows
      try {
        const windowed = await secondOrder('webgpu', 'float32', false);
        expect(windowed.calls).toBe(1);
        expect(windowed.dx).toEqual(whole.dx);
        expect(windowed.dgw).toEqual(whole.dgw);
      } finally {
        gpu!.rt.maxBindingBytes = saved;
      }
    });
  });
});
