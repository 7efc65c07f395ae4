// The fused first-order backward kernels of webgpu (layerNormBackward, geluBackward, and the masked
// attention probabilities) against the float64 cpu reference (the composite backward) and against
// the composite backward run on webgpu, on both kernel families, at sizes that are not workgroup
// multiples (and, for layer norm, with the binding limit lowered so rows go through windows).
// Also: a non-recorded backward uses the fused kernel, a recorded (createGraph) one does not.

import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

function values(n: number, seed: number, scale = 1): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => scale * r.normal());
}

function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** Calls of one backend method while `fn` runs. */
async function countCalls<T>(name: 'layerNormBackward' | 'layerNormGradBackward' | 'geluBackward' | 'geluGradBackward' | 'maskedSoftmax' | 'attentionBackward' | 'attentionPacked' | 'attentionPackedBackward' | 'attentionRows' | 'attentionRowsBackward' | 'fromArray', fn: () => Promise<T>): Promise<[T, number]> {
  const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = target[name]!;
  let calls = 0;
  target[name] = (...a: unknown[]) => {
    calls++;
    return original.apply(gpu, a);
  };
  try {
    return [await fn(), calls];
  } finally {
    delete target[name];
  }
}

/** Values and first-order gradients of sum(f(inputs) * u) (u fixed), inputs made on `device`. */
async function grads(f: (...x: Tensor[]) => Tensor, inputs: { shape: number[]; data: number[] }[], device: 'cpu' | 'webgpu', createGraph = false): Promise<Float64Array[]> {
  return E.tidyAsync(async () => {
    const dtype = device === 'cpu' ? 'float64' : 'float32';
    const xs = inputs.map((i) => E.tensor(i.data, i.shape, { dtype, device, requiresGrad: true }));
    const y = f(...xs);
    const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
    const gs = E.grad(E.sum(E.mul(y, u)), xs, { createGraph });
    const out = [await y.data(), ...(await Promise.all(gs.map((g) => g.data())))];
    return out.map((a) => Float64Array.from(a));
  });
}

const families: KernelFamily[] = ['gpu', 'software'];

describe.skipIf(!gpu)('webgpu fused first-order backward kernels', () => {
  for (const family of families) {
    const lnCases: Array<[number, number]> = [[1, 1], [3, 7], [37, 33], [5, 300], [65, 1000], [600, 5]];
    it(`layerNorm backward (${family} kernels) equals the cpu float64 reference and the composite`, async () => {
      gpu!.kernelFamily = family;
      for (const [R, C] of lnCases) {
        const inputs = [
          { shape: [R, C], data: values(R * C, R + C, 2).map((v, i) => v + (i % C) * 0.1) },
          { shape: [C], data: values(C, 3) },
          { shape: [C], data: values(C, 4) },
        ];
        const f = (x: Tensor, w: Tensor, b: Tensor) => E.layerNorm(x, w, b, 1e-5);
        const ref = await grads(f, inputs, 'cpu');
        const [fused, calls] = await countCalls('layerNormBackward', () => grads(f, inputs, 'webgpu'));
        expect(calls, `[${R}, ${C}] used the fused kernel`).toBe(1);
        const composite = await grads((x, w, b) => E.layerNormComposite(x, w, b, 1e-5), inputs, 'webgpu');
        for (let i = 1; i < 4; i++) {
          expect(relNorm(fused[i]!, ref[i]!), `[${R}, ${C}] grad ${i} vs cpu float64`).toBeLessThan(2e-5);
          expect(relNorm(fused[i]!, composite[i]!), `[${R}, ${C}] grad ${i} vs composite`).toBeLessThan(2e-5);
        }
      }
    });

    it(`layerNorm backward (${family} kernels) through row windows`, async () => {
      gpu!.kernelFamily = family;
      const rt = gpu!.rt;
      const saved = rt.maxBindingBytes;
      try {
        for (const [R, C, limit] of [[70, 64, 4096], [37, 300, 4096]] as const) {
          const inputs = [{ shape: [R, C], data: values(R * C, 5, 3) }, { shape: [C], data: values(C, 6) }, { shape: [C], data: values(C, 7) }];
          const f = (x: Tensor, w: Tensor, b: Tensor) => E.layerNorm(x, w, b, 1e-5);
          const ref = await grads(f, inputs, 'cpu');
          rt.maxBindingBytes = limit;
          const [fused, calls] = await countCalls('layerNormBackward', () => grads(f, inputs, 'webgpu'));
          rt.maxBindingBytes = saved;
          expect(calls).toBe(1);
          for (let i = 1; i < 4; i++) expect(relNorm(fused[i]!, ref[i]!), `[${R}, ${C}] windowed grad ${i}`).toBeLessThan(2e-5);
        }
      } finally {
        rt.maxBindingBytes = saved;
      }
    });

    it(`layerNorm second order (${family} kernels): the fused vjp of the recorded backward equals the cpu float64 reference`, async () => {
      gpu!.kernelFamily = family;
      for (const [R, C] of [[1, 1], [3, 7], [37, 33], [5, 300]] as const) {
        const inputs = [{ shape: [R, C], data: values(R * C, R + C, 2) }, { shape: [C], data: values(C, 3) }, { shape: [C], data: values(C, 4) }];
        const hvp = async (device: 'cpu' | 'webgpu'): Promise<Float64Array[]> =>
          E.tidyAsync(async () => {
            const dtype = device === 'cpu' ? 'float64' : 'float32';
            const xs = inputs.map((i) => E.tensor(i.data, i.shape, { dtype, device, requiresGrad: true }));
            const y = E.layerNorm(xs[0]!, xs[1]!, xs[2]!, 1e-5);
            const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
            const gs = E.grad(E.sum(E.mul(E.mul(y, y), u)), xs, { createGraph: true });
            let h = E.sum(E.mul(gs[0]!, E.tensor(values(R * C, 97), [R, C], { dtype, device })));
            h = E.add(h, E.sum(E.mul(gs[1]!, E.tensor(values(C, 96), [C], { dtype, device }))));
            const hg = E.grad(h, xs);
            return (await Promise.all(hg.map((t) => t.data()))).map((a) => Float64Array.from(a));
          });
        const ref = await hvp('cpu');
        const [got, calls] = await countCalls('layerNormGradBackward', () => hvp('webgpu'));
        expect(calls, `[${R}, ${C}] used the fused kernel`).toBe(1);
        for (let i = 0; i < 2; i++) expect(relNorm(got[i]!, ref[i]!), `[${R}, ${C}] hvp ${i}`).toBeLessThan(5e-5);
      }
    });

    it(`gelu second order (${family} kernels): the fused vjp of the recorded backward equals the cpu float64 reference`, async () => {
      gpu!.kernelFamily = family;
      for (const n of [1, 7, 257, 4099]) {
        const data = values(n, n + 1, 3);
        for (const [name, f] of [['gelu_tanh', E.geluTanh], ['gelu_erf', E.geluErf]] as const) {
          const hvp = async (device: 'cpu' | 'webgpu'): Promise<Float64Array> =>
            E.tidyAsync(async () => {
              const dtype = device === 'cpu' ? 'float64' : 'float32';
              const x = E.tensor(data, [n], { dtype, device, requiresGrad: true });
              const u = E.tensor(values(n, 99), [n], { dtype, device });
              const [g] = E.grad(E.sum(E.mul(f(x), u)), [x], { createGraph: true });
              const [h] = E.grad(E.sum(E.mul(E.mul(g!, g!), E.tensor(values(n, 98), [n], { dtype, device }))), [x]);
              return Float64Array.from(await h!.data());
            });
          const ref = await hvp('cpu');
          const [got, calls] = await countCalls('geluGradBackward', () => hvp('webgpu'));
          expect(calls, `${name} ${n} used the fused kernel`).toBe(1);
          expect(relNorm(got, ref), `${name} ${n}`).toBeLessThan(5e-5);
        }
      }
    });

    it(`gelu backward (${family} kernels) equals the cpu float64 reference and the composite`, async () => {
      gpu!.kernelFamily = family;
      for (const n of [1, 7, 257, 4099]) {
        // values across the tails and around 0 (the tanh and erf branches)
        const inputs = [{ shape: [n], data: values(n, n, 4) }];
        for (const [name, f] of [['gelu_tanh', E.geluTanh], ['gelu_erf', E.geluErf]] as const) {
          const ref = await grads(f, inputs, 'cpu');
          const [fused, calls] = await countCalls('geluBackward', () => grads(f, inputs, 'webgpu'));
          expect(calls, `${name} ${n} used the fused kernel`).toBe(1);
          expect(relNorm(fused[1]!, ref[1]!), `${name} ${n} vs cpu float64`).toBeLessThan(1e-5);
          for (let i = 0; i < n; i++) expect(Math.abs(fused[1]![i]! - ref[1]![i]!), `${name} element ${i} (x=${inputs[0]!.data[i]})`).toBeLessThan(1e-5 * (1 + Math.abs(ref[1]![i]!)));
        }
      }
    });
  }

  for (const family of families) {
    it(`attention backward through maskedSoftmax (${family} kernels): first and second order equal the cpu float64 reference`, async () => {
      gpu!.kernelFamily = family;
      const [B, H, T, D] = [2, 3, 19, 5];
      const n = B * H * T * D;
      // sequence 1 is left-padded: with causal masking its first query rows see no key at all.
      const mask = [...new Array<number>(T).fill(1), 0, 0, 0, ...new Array<number>(T - 3).fill(1)];
      for (const opts of [{}, { window: 4 }, { causal: false, window: 0 }] as const) {
        const inputs = [0, 1, 2].map((i) => ({ shape: [B, H, T, D], data: values(n, 10 + i) }));
        const second = async (device: 'cpu' | 'webgpu'): Promise<Float64Array[]> =>
          E.tidyAsync(async () => {
            const dtype = device === 'cpu' ? 'float64' : 'float32';
            const [q, k, v] = inputs.map((i) => E.tensor(i.data, i.shape, { dtype, device, requiresGrad: true }));
            const keyMask = E.tensor(mask, [B, T], { dtype, device });
            const y = E.attention(q!, k!, v!, { ...opts, keyMask });
            const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
            const first = E.grad(E.sum(E.mul(y, u)), [q!, k!, v!], { retainGraph: true });
            const [dq] = E.grad(E.sum(E.mul(y, u)), [q!], { createGraph: true });
            const r = E.tensor(values(dq!.size, 98), dq!.shape, { dtype, device });
            const hvp = E.grad(E.sum(E.mul(dq!, r)), [q!, k!, v!]);
            return (await Promise.all([y, ...first, ...hvp].map((t) => t.data()))).map((a) => Float64Array.from(a));
          });
        const ref = await second('cpu');
        const [[got, calls], fusedCalls] = await countCalls('attentionBackward', () => countCalls('maskedSoftmax', () => second('webgpu')));
        // gpu family: the first-order backward is the fused kernel (it returns null on the software family).
        expect(calls, 'maskedSoftmax kernel used by the composite backward passes').toBe(family === 'gpu' ? 1 : 2);
        expect(fusedCalls, 'fused attention backward tried by the first-order pass').toBe(1);
        ref.forEach((want, i) => expect(relNorm(got[i]!, want), `${JSON.stringify(opts)} array ${i}`).toBeLessThan(5e-5));
      }
    });
  }

  it('fused attention backward (gpu kernels) equals the cpu float64 reference, odd sizes, masks', async () => {
    gpu!.kernelFamily = 'gpu';
    const shapes: Array<[number, number, number, number]> = [[1, 1, 1, 8], [2, 3, 19, 5], [2, 1, 33, 20], [1, 2, 70, 64], [1, 1, 40, 100]];
    for (const [B, H, T, D] of shapes) {
      const n = B * H * T * D;
      const inputs = [0, 1, 2].map((i) => ({ shape: [B, H, T, D], data: values(n, 20 + i + T) }));
      // the last sequence is left-padded by up to 3 keys: causally its first query rows see no key.
      const pads = Math.min(3, T - 1);
      const mask = Array.from({ length: B * T }, (_, i) => (i >= (B - 1) * T && i - (B - 1) * T < pads ? 0 : 1));
      for (const opts of [{}, { window: 4 }, { causal: false, window: 0 }, { causal: false, window: 3, scale: 1 }, { mask: true }, { mask: true, window: 5 }] as const) {
        const f = (q: Tensor, k: Tensor, v: Tensor) => {
          const keyMask = 'mask' in opts ? E.tensor(mask, [B, T], { dtype: q.dtype, device: q.device }) : null;
          const { mask: _m, ...rest } = { mask: false, ...opts };
          return E.attention(q, k, v, { ...rest, keyMask });
        };
        const ref = await grads(f, inputs, 'cpu');
        const [got, calls] = await countCalls('attentionBackward', () => grads(f, inputs, 'webgpu'));
        expect(calls).toBe(1);
        for (let i = 0; i < 4; i++) expect(relNorm(got[i]!, ref[i]!), `[${B}, ${H}, ${T}, ${D}] ${JSON.stringify(opts)} array ${i}`).toBeLessThan(5e-5);
      }
    }
  });

  for (const family of families) {
    it(`attentionPacked (${family} kernels): values, first and second order equal the cpu float64 composite`, async () => {
      gpu!.kernelFamily = family;
      for (const [B, T, H, D] of [[2, 19, 3, 5], [1, 40, 2, 64]] as const) {
        const C = H * D;
        const data = values(B * T * 3 * C, T + D);
        const mask = Array.from({ length: B * T }, (_, i) => (i >= (B - 1) * T && i - (B - 1) * T < 2 ? 0 : 1));
        for (const opts of [{}, { window: 4 }, { mask: true }] as const) {
          const run = async (device: 'cpu' | 'webgpu'): Promise<Float64Array[]> =>
            E.tidyAsync(async () => {
              const dtype = device === 'cpu' ? 'float64' : 'float32';
              const x = E.tensor(data, [B, T, 3 * C], { dtype, device, requiresGrad: true });
              const keyMask = 'mask' in opts ? E.tensor(mask, [B, T], { dtype, device }) : null;
              const o = { window: 'window' in opts ? opts.window : 0, keyMask };
              const y = device === 'cpu' ? E.attentionPackedComposite(x, H, o) : E.attentionPacked(x, H, o);
              const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
              const [first] = E.grad(E.sum(E.mul(y, u)), [x], { retainGraph: true });
              const [dx] = E.grad(E.sum(E.mul(y, u)), [x], { createGraph: true });
              const r = E.tensor(values(dx!.size, 98), dx!.shape, { dtype, device });
              const [hvp] = E.grad(E.sum(E.mul(dx!, r)), [x]);
              return (await Promise.all([y, first!, hvp!].map((t) => t.data()))).map((a) => Float64Array.from(a));
            });
          const ref = await run('cpu');
          const [[got, fwd], bwd] = await countCalls('attentionPackedBackward', () => countCalls('attentionPacked', () => run('webgpu')));
          expect(fwd, 'packed forward kernel tried').toBe(1);
          expect(bwd, 'packed backward kernel tried once (first order only)').toBe(family === 'gpu' ? 1 : 0);
          ref.forEach((want, i) => expect(relNorm(got[i]!, want), `[${B}, ${T}, ${H}, ${D}] ${JSON.stringify(opts)} array ${i}`).toBeLessThan(5e-5));
        }
      }
    });
  }

  for (const family of families) {
    it(`attentionRows (${family} kernels): values, first and second order equal the cpu float64 composite`, async () => {
      gpu!.kernelFamily = family;
      for (const [B, T, H, D] of [[2, 19, 3, 5], [1, 40, 2, 64]] as const) {
        const C = H * D;
        const data = [0, 1, 2].map((i) => values(B * T * C, T + D + i));
        const mask = Array.from({ length: B * T }, (_, i) => (i >= (B - 1) * T && i - (B - 1) * T < 2 ? 0 : 1));
        for (const opts of [{}, { window: 4 }, { mask: true }] as const) {
          const run = async (device: 'cpu' | 'webgpu'): Promise<Float64Array[]> =>
            E.tidyAsync(async () => {
              const dtype = device === 'cpu' ? 'float64' : 'float32';
              const [q, k, v] = data.map((d) => E.tensor(d, [B, T, C], { dtype, device, requiresGrad: true }));
              const keyMask = 'mask' in opts ? E.tensor(mask, [B, T], { dtype, device }) : null;
              const o = { window: 'window' in opts ? opts.window : 0, keyMask };
              const y = device === 'cpu' ? E.attentionRowsComposite(q!, k!, v!, H, o) : E.attentionRows(q!, k!, v!, H, o);
              const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
              const first = E.grad(E.sum(E.mul(y, u)), [q!, k!, v!], { retainGraph: true });
              const [dq] = E.grad(E.sum(E.mul(y, u)), [q!], { createGraph: true });
              const r = E.tensor(values(dq!.size, 98), dq!.shape, { dtype, device });
              const hvp = E.grad(E.sum(E.mul(dq!, r)), [q!, k!, v!]);
              return (await Promise.all([y, ...first, ...hvp].map((t) => t.data()))).map((a) => Float64Array.from(a));
            });
          const ref = await run('cpu');
          const [[got, fwd], bwd] = await countCalls('attentionRowsBackward', () => countCalls('attentionRows', () => run('webgpu')));
          expect(fwd, 'rows forward kernel tried').toBe(1);
          expect(bwd, 'rows backward kernel tried once (first order only)').toBe(family === 'gpu' ? 1 : 0);
          ref.forEach((want, i) => expect(relNorm(got[i]!, want), `[${B}, ${T}, ${H}, ${D}] ${JSON.stringify(opts)} array ${i}`).toBeLessThan(5e-5));
        }
      }
    });
  }

  it('the attention backward uploads nothing from the host', async () => {
    const [q, k, v] = [0, 1, 2].map((i) => E.tensor(values(2 * 2 * 9 * 4, i), [2, 2, 9, 4], { device: 'webgpu', requiresGrad: true }));
    const keyMask = E.tensor([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [2, 9], { device: 'webgpu' });
    const [, uploads] = await countCalls('fromArray', async () => {
      const gs = E.tidy(() => E.grad(E.sum(E.attention(q!, k!, v!, { window: 3, keyMask })), [q!, k!, v!]));
      await gs[0]!.data();
      gs.forEach((g) => g.dispose());
    });
    expect(uploads).toBe(0);
    [q, k, v, keyMask].forEach((t) => t!.dispose());
  });

  it('a recorded (createGraph) backward keeps the composites (layer norm: a differentiable fused op)', async () => {
    const inputs = [{ shape: [3, 9], data: values(27, 1) }, { shape: [9], data: values(9, 2) }, { shape: [9], data: values(9, 3) }];
    // layer norm's recorded backward is the fused kernel as a differentiable op (its vjp in ops).
    const [, lnCalls] = await countCalls('layerNormBackward', () => grads((x, w, b) => E.layerNorm(x, w, b), inputs, 'webgpu', true));
    expect(lnCalls).toBe(1);
    // so is the GELU's (its vjp: one fused kernel, or ops when recorded again).
    const [, geluCalls] = await countCalls('geluBackward', () => grads((x) => E.geluTanh(x), [inputs[0]!], 'webgpu', true));
    expect(geluCalls).toBe(1);
  });
});
