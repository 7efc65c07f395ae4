// Every op from the shared table on webgpu (float32) against cpu (float32), forward and backward,
// plus sizes that are not tile multiples (1, 7, 33, 257; matmul 65x129x33 with batch dims).

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { DeviceName, Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import { makeInputs, makeValues } from './gradcheck.js';
import { opCases, type InputSpec, type OpCase } from './op-cases.js';
import { deviceUnderTest } from './webgpu-required.js';

function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

async function run(c: OpCase, device: DeviceName, values: number[][]) {
  return E.tidyAsync(async () => {
    const xs = makeInputs(c.inputs, values, 'float32', device);
    const y = c.f(...xs);
    const r = new HostRng(7);
    const u = E.tensor(Array.from({ length: y.size }, () => r.normal()), y.shape, { device });
    const diff = xs.filter((x) => x.requiresGrad);
    const gs = E.grad(E.sum(E.mul(y, u)), diff);
    return { y: await y.data(), gs: await Promise.all(gs.map((g) => g.data())) };
  });
}

const sizeCases: OpCase[] = [];
for (const n of [1, 7, 33, 257]) {
  sizeCases.push({ name: `exp ${n}`, inputs: [{ shape: [n] }], f: (x) => E.exp(x) });
  sizeCases.push({ name: `add broadcast ${n}`, inputs: [{ shape: [3, n] }, { shape: [n] }], f: (a, b) => E.add(a, b) });
  sizeCases.push({ name: `sum rows ${n}`, inputs: [{ shape: [5, n] }], f: (x) => E.sum(x, 1) });
  sizeCases.push({ name: `max cols ${n}`, inputs: [{ shape: [n, 3] }], f: (x) => E.max(x, 0) });
  sizeCases.push({ name: `softmax ${n}`, inputs: [{ shape: [3, n] }], f: (x) => E.softmax(x) });
  sizeCases.push({ name: `layerNorm ${n}`, inputs: [{ shape: [2, n] }, { shape: [n] }, { shape: [n] }], f: (x, w, b) => E.layerNorm(x, w, b) });
  sizeCases.push({
    name: `crossEntropy V=${n}`,
    inputs: [{ shape: [4, n] }, { shape: [4], kind: 'int', ints: [0, n - 1, -100, Math.floor(n / 2)] } as InputSpec],
    f: (l, y) => E.crossEntropy(l, y),
  });
  sizeCases.push({ name: `matmul ${n}`, inputs: [{ shape: [n, 9] }, { shape: [9, n] }], f: (a, b) => E.matmul(a, b) });
}
sizeCases.push({ name: 'matmul 65x129x33 batch [2,3]', inputs: [{ shape: [2, 1, 65, 129] }, { shape: [3, 129, 33] }], f: (a, b) => E.matmul(a, b) });
sizeCases.push({ name: 'matmul 65x129x33 transA transB', inputs: [{ shape: [2, 129, 65] }, { shape: [33, 129] }], f: (a, b) => E.matmul(a, b, { transA: true, transB: true }) });
sizeCases.push({
  name: 'attention T=33 window 8',
  inputs: [{ shape: [2, 3, 33, 8] }, { shape: [2, 3, 33, 8] }, { shape: [2, 3, 33, 8] }],
  f: (q, k, v) => E.attention(q, k, v, { window: 8 }),
});

describe('webgpu vs cpu parity (float32)', () => {
  for (const c of [...opCases, ...sizeCases]) {
    it(c.name, async () => {
      const gpu = await deviceUnderTest('webgpu');
      if (!gpu) return;
      const values = c.inputs.map((s, i) => makeValues({ kind: 'any', ...s }, 11 + i));
      const ref = await run(c, 'cpu', values);
      const got = await run(c, 'webgpu', values);
      expect(got.y.length).toBe(ref.y.length);
      expect(relNorm(got.y, ref.y), 'forward').toBeLessThan(1e-5);
      got.gs.forEach((g, i) => expect(relNorm(g, ref.gs[i]!), `gradient of input ${i}`).toBeLessThan(1e-5));
    });
  }
});
